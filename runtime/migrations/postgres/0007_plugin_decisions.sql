-- The operator's decisions about plugin versions (`paycore plugin
-- rollback|restore|approve`), in the database so that every instance
-- follows a decision made at any one of them.
CREATE TABLE plugin_decisions (
    kind       TEXT NOT NULL,   -- 'rolled_back' (label name@version) or 'approved' (name@version@sha256)
    label      TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (kind, label)
);
