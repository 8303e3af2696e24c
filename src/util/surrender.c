/* The thread's surrender: when to ask the application next, and what it answered. */
#include "config.h"

#include <stddef.h>
#include <time.h>

#include "util/surrender.h"

static __thread struct surrender *current;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void surrender_begin(struct surrender *s, bool (*ask)(void *ctx), void *ctx)
{
    s->ask = ask;
    s->ctx = ctx;
    s->due_ns = now_ns() + SURRENDER_EVERY_MS * 1000000u;
    s->canceled = false;
    s->asking = false;
    s->outer = current;
    current = s;
}

void surrender_end(struct surrender *s)
{
    if (current == s)
        current = s->outer;
}

bool surrender_active(void)
{
    return current != NULL;
}

bool surrender_poll(void)
{
    struct surrender *s = current;

    if (s == NULL || s->canceled || s->asking)
        return s != NULL && s->canceled;
    if (now_ns() < s->due_ns)
        return false;
    s->asking = true;
    s->canceled = s->ask(s->ctx);
    s->asking = false;
    /* The next question counts from the answer: the application's own time is not work. */
    s->due_ns = now_ns() + SURRENDER_EVERY_MS * 1000000u;
    return s->canceled;
}

bool surrender_canceled(void)
{
    return current != NULL && current->canceled;
}

bool surrender_asking(void)
{
    for (struct surrender *s = current; s != NULL; s = s->outer)
        if (s->asking)
            return true;
    return false;
}
