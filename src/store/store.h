/*
 * store/ owns the SQLite file: where it lives, opening and migrating it, transactions and
 * busy handling, and the rows for tokens (and, later, objects). It knows nothing of the TPM:
 * wrapped blobs are opaque bytes here. The token layer is the only caller.
 *
 * One file, WAL mode, a busy timeout, every change in one transaction, so several processes
 * can share a store. A store that can only be read opens read-only and every write returns
 * CKR_TOKEN_WRITE_PROTECTED. Every function takes the store's lock itself.
 */
#ifndef TPMTOK_STORE_H
#define TPMTOK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "util/lock.h"

struct store;

/*
 * The store's path: TPMTOK_STORE, else $XDG_DATA_HOME/tpmtok/tpmtok.sqlite3, else
 * $HOME/.local/share/tpmtok/tpmtok.sqlite3 (HOME from the password database if unset).
 * Environment read with secure_getenv. *out is malloc'ed. CKR_OK, CKR_HOST_MEMORY,
 * CKR_GENERAL_ERROR (no home directory to be found).
 */
CK_RV store_default_path(char **out);

/*
 * Opens the store at path, creating its directory (0700) and file (0600) if missing, and
 * brings its schema up to date. A file owned by another user is refused. A file that cannot
 * be written is opened read-only.
 * CKR_OK; CKR_HOST_MEMORY; CKR_DEVICE_ERROR (cannot create or read it, not a tpmtok store,
 * corrupt, or made by a newer tpmtok), with a log line naming the path and the reason.
 */
CK_RV store_open(const char *path, const struct lock_ops *locks, struct store **out);
/* NULL is fine. */
void store_close(struct store *s);
bool store_read_only(const struct store *s);
const char *store_path(const struct store *s);

/* A sealed PIN object: the TPM blobs and the PIN KDF's parameters. */
struct store_seal {
    uint8_t *pub;          /* marshalled TPM2B_PUBLIC, malloc'ed */
    size_t pub_len;
    uint8_t *priv;         /* marshalled TPM2B_PRIVATE, malloc'ed */
    size_t priv_len;
    uint8_t salt[32];
    uint32_t iterations;   /* PBKDF2 iterations */
};

struct store_token {
    uint64_t id;                   /* also the slot ID; never reused */
    uint8_t label[32];             /* CK_UTF8CHAR, blank padded */
    char serial[17];               /* 16 characters, NUL-terminated */
    uint8_t seed[32];              /* unique field of the token's primary template */
    uint8_t primary_name[66];      /* the primary's TPM name, to notice another TPM */
    size_t primary_name_len;
    struct store_seal so;
    bool has_user;                 /* false until C_InitPIN */
    struct store_seal user;
    uint64_t generation;           /* bumped by every change to the row */
};

/* Frees the blobs inside t and zeroes it. NULL is fine. */
void store_token_clear(struct store_token *t);
/* Frees an array from store_token_list. */
void store_token_list_free(struct store_token *list, size_t n);

/* Every token, by id. CKR_OK (n may be 0), CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
CK_RV store_token_list(struct store *s, struct store_token **out, size_t *n);
/* One token. CKR_OK with *found false if there is none with that id. */
CK_RV store_token_get(struct store *s, uint64_t id, struct store_token *out, bool *found);
/* The id the next new token will get (ids are never reused, even after deletion). */
CK_RV store_token_next_id(struct store *s, uint64_t *id);

/*
 * Inserts a new token with t->id (which must be store_token_next_id's answer) and t's
 * label, serial, seed, primary name and SO seal (and user seal if has_user). Sets
 * t->generation. CKR_OK; CKR_FUNCTION_FAILED if that id is taken (another process created
 * a token there first); CKR_TOKEN_WRITE_PROTECTED; CKR_DEVICE_MEMORY (disk full);
 * CKR_DEVICE_ERROR; CKR_HOST_MEMORY.
 */
CK_RV store_token_create(struct store *s, struct store_token *t);

/*
 * Re-initializes token t->id in one transaction: deletes all its objects, sets the label,
 * seed, primary name and SO seal from t, removes the user seal. Same errors as create, and
 * CKR_FUNCTION_FAILED if the row changed since t->generation was read (a concurrent change).
 */
CK_RV store_token_reinit(struct store *s, struct store_token *t);

/*
 * Replaces the SO seal (so == true) or the user seal of token id, in one transaction, only if
 * the row's generation is still *generation; on success *generation is the new one.
 * CKR_FUNCTION_FAILED on a concurrent change; else as create.
 */
CK_RV store_token_set_seal(struct store *s, uint64_t id, bool so,
                           const struct store_seal *seal, uint64_t *generation);

/* Number of objects stored for token id. */
CK_RV store_object_count(struct store *s, uint64_t token_id, uint64_t *count);

/*
 * A token object's row. The indexed columns (class, key type, private, CKA_ID, CKA_LABEL)
 * are copies of attributes, kept so searches run in SQLite; attrs is the whole attribute
 * set in the token layer's encoding (encrypted by it for private objects). Zero-length
 * CKA_ID/CKA_LABEL values are stored as zero-length blobs, distinct from absent (NULL).
 */
struct store_object {
    uint64_t id;                   /* assigned by insert; never reused */
    uint64_t token_id;
    CK_OBJECT_CLASS class;
    bool has_key_type;
    CK_KEY_TYPE key_type;
    bool private;
    bool has_cka_id;
    uint8_t *cka_id;               /* malloc'ed; may be NULL when cka_id_len is 0 */
    size_t cka_id_len;
    bool has_label;
    uint8_t *label;
    size_t label_len;
    uint8_t *attrs;
    size_t attrs_len;
    uint8_t *tpm_pub;              /* NULL for objects with no TPM key */
    size_t tpm_pub_len;
    uint8_t *tpm_priv;
    size_t tpm_priv_len;
    uint8_t *auth_wrap;            /* the key's auth value, wrapped by the token layer */
    size_t auth_wrap_len;
};

/* Frees the buffers inside o and zeroes it. NULL is fine. */
void store_object_clear(struct store_object *o);

/*
 * Inserts o (o->id is ignored and set). CKR_OK; CKR_TOKEN_WRITE_PROTECTED; CKR_DEVICE_MEMORY
 * (disk full); CKR_FUNCTION_FAILED (no such token: it was deleted or re-initialized);
 * CKR_DEVICE_ERROR; CKR_HOST_MEMORY.
 */
CK_RV store_object_insert(struct store *s, struct store_object *o);
/* Inserts n (at most STORE_INSERT_MAX) rows in one transaction, all or none (a key pair). */
#define STORE_INSERT_MAX 8
CK_RV store_object_insert_many(struct store *s, struct store_object **rows, size_t n);
/* One row by id. CKR_OK with *found false if there is none. */
CK_RV store_object_get(struct store *s, uint64_t id, struct store_object *out, bool *found);
/*
 * Replaces the indexed columns and attrs of row o->id of token o->token_id (tpm blobs and
 * auth_wrap stay). CKR_OK with *found false if there is no such row (gone, or another
 * token's); else as insert.
 */
CK_RV store_object_update(struct store *s, const struct store_object *o, bool *found);
/* Deletes row id of token token_id. CKR_OK with *found false if there was none. */
CK_RV store_object_delete(struct store *s, uint64_t token_id, uint64_t id, bool *found);

/* A search on the indexed columns; unset fields match anything. */
struct store_object_query {
    uint64_t token_id;
    bool with_private;             /* false: CKA_PRIVATE objects are left out */
    bool has_class;
    CK_OBJECT_CLASS class;
    bool has_key_type;
    CK_KEY_TYPE key_type;
    bool has_cka_id;
    const uint8_t *cka_id;
    size_t cka_id_len;
    bool has_label;
    const uint8_t *label;
    size_t label_len;
};

/* One row a search found. */
struct store_object_hit {
    uint64_t id;
    bool private;
};

/* The matching rows by ascending id (*hits malloc'ed, NULL when *n is 0). */
CK_RV store_object_find(struct store *s, const struct store_object_query *q,
                        struct store_object_hit **hits, size_t *n);

#endif
