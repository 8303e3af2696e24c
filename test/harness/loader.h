/* Test harness: the module under test, loaded as applications load it (dlopen, function list). */
#ifndef TPMTOK_TEST_LOADER_H
#define TPMTOK_TEST_LOADER_H

#include "p11.h"

struct p11 {
    void *dl;
    CK_FUNCTION_LIST *f;
};

/* dlopens $TPMTOK_MODULE and gets its function list. 0, or -1 with a message. */
int p11_load(struct p11 *p);
void p11_unload(struct p11 *p);

/* label, blank padded to 32 bytes. */
void p11_label(CK_UTF8CHAR label[32], const char *s);
/* The slot holding the uninitialized token, or (CK_SLOT_ID)-1. */
CK_SLOT_ID p11_empty_slot(CK_FUNCTION_LIST *f);
/*
 * Initializes a token in the empty slot with so_pin, sets user_pin (unless NULL) through an SO
 * session, and leaves no session open. Returns the token's slot, or (CK_SLOT_ID)-1.
 */
CK_SLOT_ID p11_new_token(CK_FUNCTION_LIST *f, const char *label, const char *so_pin,
                         const char *user_pin);
/* Number of slots (C_GetSlotList with a NULL list), or -1. */
long p11_slot_count(CK_FUNCTION_LIST *f);

#endif
