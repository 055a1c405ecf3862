-- Plugins the operator published to the database (`paycore plugin publish`)
-- rather than copied into every instance's plugins folder. Each instance
-- loads them with the same checks as files. Versions are immutable: one
-- build per name@version.
CREATE TABLE published_plugins (
    digest       TEXT PRIMARY KEY,  -- sha256 of `bytes`, hex
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    published_at TEXT NOT NULL,
    CONSTRAINT published_plugins_label_key UNIQUE (name, version)
);
