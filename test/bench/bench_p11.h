/* bench_p11: the loaded module, the timed loop and the reporting its two files share. */
#ifndef TPMTOK_BENCH_P11_H
#define TPMTOK_BENCH_P11_H

#include <stdbool.h>
#include <stdint.h>

#include "p11.h"
#include "bench/bench_util.h"

struct p11 {
    void *dl;                     /* dlopen handle of the module */
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;              /* the token's slot, found by label */
    CK_SESSION_HANDLE s;          /* an R/W session, logged in as the user */
    const char *label, *pin;
    double seconds;               /* time budget of a figure */
    struct bench_out *out;
    const char *failed_in;        /* the PKCS#11 function that returned the last error */
};

/* Timed loops: what one operation does, with i counting from 0; CKR_OK or the error. */
typedef CK_RV (*p11_op)(struct p11 *p, void *arg, unsigned i);

/* What a timed loop measured: operations, the seconds inside them, TPM commands inside them. */
struct timed {
    unsigned n;
    double secs;
    struct bench_rounds rounds;   /* the figure is the best round's */
    struct bench_cmds cmds;
};

/*
 * Runs op while the budget lasts (p->seconds, at most max times, at least once), timing and
 * counting only op (in rounds: see bench_util.h); after, if not NULL, runs untimed after each op (cleanup). Stops at the
 * first error and returns it.
 */
CK_RV p11_run(struct p11 *p, p11_op op, p11_op after, void *arg, unsigned max, struct timed *t);

/* Calls' errors: records where it failed (for the FAIL line) and passes rv on. */
CK_RV p11_check(struct p11 *p, const char *fn, CK_RV rv);

/* The result line of a timed loop, or FAIL with rv's name when rv is not CKR_OK. */
void p11_report(struct p11 *p, const char *figure, enum bench_unit unit, double scale,
                const struct timed *t, CK_RV rv);

/* The crypto figures, in bench_p11_crypto.c: run with a logged-in session. */
void bench_sign(struct p11 *p);
void bench_digest(struct p11 *p);
void bench_cipher(struct p11 *p);
void bench_opstate(struct p11 *p);
void bench_keygen(struct p11 *p);
void bench_random(struct p11 *p);

#endif
