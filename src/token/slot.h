/*
 * token/slot: the slots this process knows and the tokens in them. Every initialized token in
 * the store has a slot whose ID is the token's store id (stable across processes), and there
 * is always one more slot holding an uninitialized token, where C_InitToken creates a new one.
 */
#ifndef TPMTOK_SLOT_H
#define TPMTOK_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "p11.h"
#include "store/store.h"
#include "token/module.h"

struct tpm_obj;

/* Who is logged in to a token, for this application. */
enum login_state {
    LOGIN_NONE,
    LOGIN_USER,
    LOGIN_SO,
};

#define TOKEN_SECRET_LEN 32

struct token {
    CK_SLOT_ID id;
    bool initialized;              /* false: the slot's token awaits C_InitToken */
    struct store_token row;        /* as last read from the store (when initialized) */
    struct mutex *op_lock;         /* serialises this token's PIN and TPM set-up work */
    /* Below: guarded by the module lock. */
    enum login_state login;
    uint8_t secret[TOKEN_SECRET_LEN]; /* the token's wrapping secret while logged in */
    unsigned sessions;
    unsigned rw_sessions;
    uint64_t login_epoch;          /* bumped at logout: private handles of before die */
    /* Guarded by op_lock. */
    struct tpm_obj *primary;       /* opened on first TPM use */
};

struct slot_table;

/* CK_INFO for C_GetInfo. */
void slot_library_info(CK_INFO *info);

CK_RV slot_table_new(const struct lock_ops *locks, struct slot_table **out);
/* Closes every token's TPM objects and wipes secrets. NULL is fine. */
void slot_table_free(struct slot_table *st, struct tpm *tpm);

/*
 * Reads the token list from the store and adds slots for tokens this process has not seen.
 * Takes m->lock itself. CKR_OK, CKR_HOST_MEMORY (store errors are logged and leave the list).
 */
CK_RV slot_refresh(struct module *m);

/* The token in slot id, or NULL. Caller holds m->lock; the pointer stays valid until C_Finalize. */
struct token *slot_find_locked(struct module *m, CK_SLOT_ID id);

/* C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo with the spec's return values. */
CK_RV slot_list(struct module *m, bool token_present, CK_SLOT_ID *list, CK_ULONG *count);
CK_RV slot_info(struct module *m, CK_SLOT_ID id, CK_SLOT_INFO *info);
CK_RV slot_token_info(struct module *m, CK_SLOT_ID id, CK_TOKEN_INFO *info);

/*
 * C_InitToken: creates a token in the empty slot, or re-initializes an existing one after
 * checking its SO PIN (all its objects are destroyed, the user PIN is removed).
 */
CK_RV slot_init_token(struct module *m, CK_SLOT_ID id, const uint8_t *pin, size_t pin_len,
                      const uint8_t label[32]);

/*
 * The token's primary, opened on first use and checked against the name the token stored.
 * Caller holds tok->op_lock. CKR_OK, CKR_DEVICE_ERROR (the TPM is another, or was cleared),
 * CKR_DEVICE_MEMORY, CKR_HOST_MEMORY.
 */
CK_RV slot_token_primary(struct module *m, struct token *tok, struct tpm_obj **out);
/*
 * The same for a caller that holds no token lock: from memory once the primary is open, else
 * opened under tok->op_lock; CKR_FUNCTION_FAILED when that lock cannot be waited for (from
 * inside a surrender callback).
 */
CK_RV slot_token_primary_get(struct module *m, struct token *tok, struct tpm_obj **out);

#endif
