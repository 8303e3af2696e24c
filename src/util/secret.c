/* Secret wiping on top of OpenSSL's cleanse, so every layer wipes the same way. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/secret.h"

void secret_wipe(void *p, size_t n)
{
    if (p != NULL && n != 0)
        OPENSSL_cleanse(p, n);
}

void secret_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    secret_wipe(p, n);
    free(p);
}

void *secret_dup(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);

    if (q != NULL && n != 0)
        memcpy(q, p, n);
    return q;
}
