/* Test harness: the counters the counting TCTI (tcti-count.c) keeps in a shared file. */
#ifndef TPMTOK_TEST_TCTI_COUNT_H
#define TPMTOK_TEST_TCTI_COUNT_H

#include <stdint.h>

/* Command codes 0x100..0x1ff are counted one by one; TPM 2.0's run 0x11f..0x19x. */
#define TCTI_COUNT_CC_FIRST 0x100u
#define TCTI_COUNT_CC_SLOTS 0x100u

/*
 * The file named by TPMTOK_TCTI_COUNT holds one of these, mapped shared by every process that
 * loads the TCTI (and by the test that reads it), updated with atomic adds: read the fields
 * with __atomic_load_n. The TCTI creates the file if it is missing and never clears it.
 */
struct tcti_count {
    uint64_t total;                        /* commands transmitted */
    uint64_t other;                        /* ... whose code is outside by_cc */
    uint64_t by_cc[TCTI_COUNT_CC_SLOTS];   /* by_cc[cc - TCTI_COUNT_CC_FIRST] */
};

#endif
