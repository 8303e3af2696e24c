-- tpmtok store, schema 1: tokens and their objects.
-- Keys are kept as TPM-wrapped blobs (only the TPM that made them can load them); nothing
-- here is a secret in the clear. Attributes that searches filter on are columns with
-- indexes; the rest are kept in the attrs blob.

CREATE TABLE tokens (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- the slot ID, never reused
    label            BLOB NOT NULL,                      -- 32 bytes, blank padded
    serial           TEXT NOT NULL UNIQUE,
    seed             BLOB NOT NULL,                      -- unique field of the primary's template
    primary_name     BLOB NOT NULL,                      -- TPM name the primary must have
    so_pub           BLOB NOT NULL,
    so_priv          BLOB NOT NULL,
    so_salt          BLOB NOT NULL,
    so_iterations    INTEGER NOT NULL,
    user_pub         BLOB,                               -- NULL until C_InitPIN
    user_priv        BLOB,
    user_salt        BLOB,
    user_iterations  INTEGER,
    generation       INTEGER NOT NULL DEFAULT 1          -- bumped by every change
);

CREATE TABLE objects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id    INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    class       INTEGER NOT NULL,       -- CKA_CLASS
    key_type    INTEGER,                -- CKA_KEY_TYPE, NULL for non-keys
    private     INTEGER NOT NULL,       -- CKA_PRIVATE
    cka_id      BLOB,                   -- CKA_ID
    label       BLOB,                   -- CKA_LABEL
    attrs       BLOB NOT NULL,          -- every attribute, tpmtok's own encoding
    tpm_pub     BLOB,                   -- marshalled TPM2B_PUBLIC for TPM keys
    tpm_priv    BLOB,                   -- marshalled TPM2B_PRIVATE
    auth_wrap   BLOB                    -- the key's auth value, AES-GCM under the token secret
);

CREATE INDEX objects_token_class ON objects(token_id, class);
CREATE INDEX objects_token_id ON objects(token_id, cka_id);
CREATE INDEX objects_token_label ON objects(token_id, label);
