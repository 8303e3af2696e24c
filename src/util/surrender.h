/*
 * util/surrender: handing control back to the application during long work, as PKCS#11's
 * CKN_SURRENDER callbacks do. A function running for a session with a notify callback
 * installs a surrender on its thread; the TPM layer, which knows nothing of sessions, asks it
 * before every command and while it waits on one. Threads without one pay a thread-local read.
 */
#ifndef TPMTOK_SURRENDER_H
#define TPMTOK_SURRENDER_H

#include <stdbool.h>
#include <stdint.h>

/* How often, at most and about, the application is asked while work goes on. */
#define SURRENDER_EVERY_MS 50

struct surrender {
    /* Asks the application whether to go on; true: it wants the function cancelled. */
    bool (*ask)(void *ctx);
    void *ctx;
    uint64_t due_ns;            /* monotonic time of the next question */
    bool canceled;              /* the application said stop: sticky until surrender_end */
    bool asking;                /* inside ask: no question within a question */
    struct surrender *outer;    /* the one this thread had before (a callback's own call) */
};

/* Installs s on this thread; the first question comes after SURRENDER_EVERY_MS of work. */
void surrender_begin(struct surrender *s, bool (*ask)(void *ctx), void *ctx);
/* Removes s (the innermost) from this thread. */
void surrender_end(struct surrender *s);
/* True if this thread's work has an application to ask. */
bool surrender_active(void);
/* Asks the application if a question is due; true if the function is to stop. */
bool surrender_poll(void);
/* True if the application asked to stop this thread's function. */
bool surrender_canceled(void);
/* True while this thread is inside the application's callback. */
bool surrender_asking(void);

#endif
