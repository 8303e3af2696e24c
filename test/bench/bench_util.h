/* Benchmark programs: the clock, the TPM command counters and the result lines both print. */
#ifndef TPMTOK_BENCH_UTIL_H
#define TPMTOK_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/tcti-count.h"

#define BENCH_MIB (1024.0 * 1024.0)

/* How a figure is shown; the value is always derived from operations and seconds. */
enum bench_unit {
    BENCH_PER_S,     /* operations per second */
    BENCH_MIB_S,     /* MiB per second; the figure's scale is MiB per operation */
    BENCH_MS,        /* milliseconds per operation */
};

/* Where results go: stdout always, and a CSV file when one was named. */
struct bench_out {
    FILE *csv;                  /* NULL without --csv */
    const char *only;           /* comma-separated figure prefixes to run; NULL: all */
    struct tcti_count *counts;  /* TPMTOK_TCTI_COUNT's counters; NULL when not counting */
};

/* TPM commands sent during the timed part of a figure: in total and by command code. */
struct bench_cmds {
    uint64_t total;
    uint64_t by_cc[TCTI_COUNT_CC_SLOTS];
};

/*
 * A timed loop's budget is cut in BENCH_ROUNDS rounds and the best round gives the figure: on a
 * machine shared with other work (builds, other tests) the best round is the one least
 * disturbed, so figures from one run to the next move with the code, not with the load.
 */
#define BENCH_ROUNDS 5

struct bench_rounds {
    double round_secs;          /* budget of a round */
    unsigned n;                 /* operations in the round going on */
    double secs;                /* ... and their seconds */
    unsigned best_n;            /* the fastest round so far (0: none finished) */
    double best_secs;
};

/* Starts the rounds of a loop whose budget is seconds. */
void bench_rounds_start(struct bench_rounds *r, double seconds);
/* Adds one operation that took secs. */
void bench_rounds_add(struct bench_rounds *r, double secs);
/*
 * What the figure reports: the best round if one finished with at least 3 operations, else all
 * total_n operations in total_secs (slow operations, such as RSA key generation).
 */
void bench_rounds_result(const struct bench_rounds *r, unsigned total_n, double total_secs,
                         unsigned *n, double *secs);

/* Seconds on the monotonic clock. */
double bench_now(void);

/*
 * Whether a timed loop should run another operation: always the first, then while fewer than
 * max have run and the time spent is under seconds.
 */
bool bench_more(unsigned n, unsigned max, double spent, double seconds);

/* Whether figure was asked for (--only lists prefixes of figure names). */
bool bench_wanted(const struct bench_out *o, const char *figure);
/* Whether some figure whose name starts with group may be wanted (for shared setup). */
bool bench_wanted_group(const struct bench_out *o, const char *group);

/*
 * Opens path for the CSV lines and writes the header (path NULL: no CSV), and maps the
 * counting TCTI's counters when TPMTOK_TCTI_COUNT names their file. 0, or -1 with a message.
 */
int bench_out_open(struct bench_out *o, const char *csv_path, const char *only);
void bench_out_close(struct bench_out *o);

/* The counters now (all zero when not counting). */
void bench_cmds_snap(const struct bench_out *o, struct bench_cmds *now);
/* Adds what was sent since before to sum. */
void bench_cmds_add_since(const struct bench_out *o, const struct bench_cmds *before,
                          struct bench_cmds *sum);

/*
 * One result: n operations took secs (scale is MiB per operation for BENCH_MIB_S, else
 * unused); all cmd_ops operations of the loop sent cmds (NULL: not counted).
 */
void bench_result(struct bench_out *o, const char *figure, enum bench_unit unit, unsigned n,
                  double secs, double scale, unsigned cmd_ops, const struct bench_cmds *cmds);
/* A result given as the value itself (e.g. a median of n runs, which sent cmds), in unit. */
void bench_value(struct bench_out *o, const char *figure, enum bench_unit unit, double value,
                 unsigned n, const struct bench_cmds *cmds);
/* A figure that could not be measured, with the reason ("CKR_MECHANISM_INVALID in C_SignInit"). */
void bench_fail(struct bench_out *o, const char *figure, const char *why);

#endif
