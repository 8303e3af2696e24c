/* Test harness: a private swtpm on free 127.0.0.1 ports, started and stopped by the test itself. */
#ifndef TPMTOK_TEST_SWTPM_H
#define TPMTOK_TEST_SWTPM_H

#include <limits.h>
#include <sys/types.h>

struct swtpm {
    pid_t pid;
    int port;
    int ctrl_port;
    char dir[PATH_MAX];      /* temp dir: swtpm state in dir/state, stores in dir */
    char tcti[128];          /* "swtpm:host=127.0.0.1,port=N" */
};

/*
 * Starts swtpm (TPM 2.0, started with Startup(CLEAR)) with its state in a new temp dir, waits
 * until it answers, raises its dictionary-attack limit so tests can mistype PINs, and sets
 * TPMTOK_TCTI and TPMTOK_STORE (dir/store.sqlite3) in the environment. swtpm dies with the test
 * process even if the test crashes. Returns 0, or -1 with a message on stderr.
 */
int swtpm_start(struct swtpm *s);
/* Stops swtpm and removes its temp dir. Safe to call twice. */
void swtpm_stop(struct swtpm *s);
/* Kills swtpm and starts it again on the same ports and state: a TPM Reset. */
int swtpm_restart(struct swtpm *s);
/* Kills swtpm (SIGKILL), as a TPM that disappears; swtpm_restart brings it back. */
void swtpm_kill(struct swtpm *s);
/*
 * Flushes every transient object and session in the TPM, as a resource manager does for a
 * process that died (a bare TPM keeps them). Handles flushed, or -1.
 */
int swtpm_flush_leftovers(struct swtpm *s);
/* Points TPMTOK_STORE at a new, not yet existing file in the temp dir and returns its path. */
const char *swtpm_new_store(struct swtpm *s);

/* Dictionary-attack parameters (lockout auth is empty on swtpm). 0 or -1. */
int swtpm_da_setup(struct swtpm *s, unsigned max_tries, unsigned recovery_s);
/* Clears the failure counter and any lockout. 0 or -1. */
int swtpm_da_reset(struct swtpm *s);
/* Extends PCR pcr's SHA-256 bank with the SHA-256 of data, as a boot measures. 0 or -1. */
int swtpm_pcr_extend(struct swtpm *s, unsigned pcr, const char *data);
/* Transient objects loaded in the TPM right now (all processes), or -1. */
int swtpm_transient_count(struct swtpm *s);

#endif
