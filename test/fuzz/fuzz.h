/*
 * test/fuzz/fuzz: what every fuzz target shares: libFuzzer's entry point, and a reader that
 * takes a target's structured values from the input bytes (zeros once they run out, so every
 * input decodes to something).
 */
#ifndef TPMTOK_FUZZ_H
#define TPMTOK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_in {
    const uint8_t *p;
    size_t left;
};

static inline void fuzz_in_init(struct fuzz_in *in, const uint8_t *data, size_t size)
{
    in->p = data;
    in->left = size;
}

/* Little-endian, like the CK_ULONG fields the seeds carry on the machines that run them. */
static inline uint64_t fuzz_take(struct fuzz_in *in, size_t bytes)
{
    uint64_t v = 0;

    for (size_t i = 0; i < bytes && in->left > 0; i++, in->left--)
        v |= (uint64_t)*in->p++ << (8 * i);
    return v;
}

/* Up to n bytes in place; *got says how many there were. */
static inline const uint8_t *fuzz_take_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;

    *got = n < in->left ? n : in->left;
    in->p += *got;
    in->left -= *got;
    return p;
}

/* With FUZZ_VERBOSE set, what a call returned (to see how deep the seeds get). */
static inline unsigned long fuzz_report(const char *call, unsigned long rv)
{
    static int verbose = -1;

    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%s: 0x%lx\n", call, rv);
    return rv;
}

#endif
