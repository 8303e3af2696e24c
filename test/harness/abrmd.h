/* Test harness: tpm2-abrmd on a private D-Bus bus in front of a test's swtpm (a resource manager). */
#ifndef TPMTOK_TEST_ABRMD_H
#define TPMTOK_TEST_ABRMD_H

#include <sys/types.h>

#include "harness/swtpm.h"

struct abrmd {
    pid_t dbus_pid, pid;
    char address[512];        /* the private session bus */
};

/*
 * Starts dbus-daemon (a private session bus) and tpm2-abrmd on it with tpm's TCTI, waits
 * until abrmd answers, and points TPMTOK_TCTI and DBUS_SESSION_BUS_ADDRESS at them, so that
 * every process the test starts shares the TPM through the resource manager, as processes on
 * /dev/tpmrm0 do. 0; 1 when tpm2-abrmd, dbus-daemon or the tabrmd TCTI is not installed (the
 * caller skips); -1 on failure, with a message.
 */
int abrmd_start(struct abrmd *a, const struct swtpm *tpm);
/* Stops both and points TPMTOK_TCTI back at swtpm itself. Safe to call twice. */
void abrmd_stop(struct abrmd *a, const struct swtpm *tpm);

#endif
