/* Loads the module under test and drives the common set-up steps of the tests. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/loader.h"

int p11_load(struct p11 *p)
{
    const char *path = getenv("TPMTOK_MODULE");
    CK_C_GetFunctionList get;

    memset(p, 0, sizeof *p);
    if (path == NULL) {
        fprintf(stderr, "harness: TPMTOK_MODULE is not set\n");
        return -1;
    }
    if ((p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "harness: %s\n", dlerror());
        return -1;
    }
    get = (CK_C_GetFunctionList)dlsym(p->dl, "C_GetFunctionList");
    if (get == NULL || get(&p->f) != CKR_OK) {
        fprintf(stderr, "harness: no C_GetFunctionList in %s\n", path);
        dlclose(p->dl);
        p->dl = NULL;
        return -1;
    }
    return 0;
}

void p11_unload(struct p11 *p)
{
    if (p->dl != NULL)
        dlclose(p->dl);
    memset(p, 0, sizeof *p);
}

void p11_label(CK_UTF8CHAR label[32], const char *s)
{
    size_t n = strlen(s);

    memset(label, ' ', 32);
    memcpy(label, s, n < 32 ? n : 32);
}

long p11_slot_count(CK_FUNCTION_LIST *f)
{
    CK_ULONG n = 0;

    return f->C_GetSlotList(CK_FALSE, NULL, &n) == CKR_OK ? (long)n : -1;
}

CK_SLOT_ID p11_empty_slot(CK_FUNCTION_LIST *f)
{
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256;
    CK_TOKEN_INFO info;

    if (f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n > 256 ||
        f->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
        return (CK_SLOT_ID)-1;
    for (CK_ULONG i = 0; i < n; i++)
        if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            !(info.flags & CKF_TOKEN_INITIALIZED))
            return slots[i];
    return (CK_SLOT_ID)-1;
}

CK_SLOT_ID p11_new_token(CK_FUNCTION_LIST *f, const char *label, const char *so_pin,
                         const char *user_pin)
{
    CK_UTF8CHAR lbl[32];
    CK_SESSION_HANDLE s;
    CK_SLOT_ID slot = p11_empty_slot(f);
    CK_RV rv;

    if (slot == (CK_SLOT_ID)-1)
        return slot;
    p11_label(lbl, label);
    rv = f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), lbl);
    if (rv != CKR_OK) {
        fprintf(stderr, "harness: C_InitToken: 0x%lx\n", (unsigned long)rv);
        return (CK_SLOT_ID)-1;
    }
    if (user_pin == NULL)
        return slot;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) ||
        (rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin))) ||
        (rv = f->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, strlen(user_pin))) ||
        (rv = f->C_CloseSession(s))) {
        fprintf(stderr, "harness: setting the user PIN: 0x%lx\n", (unsigned long)rv);
        return (CK_SLOT_ID)-1;
    }
    return slot;
}
