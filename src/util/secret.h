/* The one way secrets leave memory: wiped before they are freed or go out of scope. */
#ifndef TPMTOK_SECRET_H
#define TPMTOK_SECRET_H

#include <stddef.h>

/* Zeroes n bytes in a way the compiler cannot drop. NULL is fine. */
void secret_wipe(void *p, size_t n);
/* Wipes n bytes and frees them. NULL is fine. */
void secret_free(void *p, size_t n);
/* A malloc'ed copy of n bytes (free with secret_free), or NULL. */
void *secret_dup(const void *p, size_t n);

#endif
