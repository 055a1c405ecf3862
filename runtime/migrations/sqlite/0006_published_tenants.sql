-- Tenant configs the operator published to the database (`paycore tenant
-- publish`) rather than copied into every instance's tenants folder. Each
-- publication is a new revision; a withdrawal is a revision without a
-- source. The newest revision of a tenant is the one instances serve, and
-- the older ones stay as its history.
CREATE TABLE published_tenants (
    tenant_id    TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    source       TEXT,              -- the TOML text; NULL: withdrawn
    digest       TEXT NOT NULL,     -- sha256 of `source`, hex ('' when withdrawn)
    published_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, revision)
);
