/* Inside tpm/: running one TPM command with retries and recovery from a restarted TPM. */
#ifndef TPMTOK_CALL_H
#define TPMTOK_CALL_H

#include "tpm/tpm_internal.h"

/*
 * One attempt at a command: loads (and pins) the objects it needs with resid_load, prepares,
 * runs it (with sess_run where it needs our session), completes it, unpins. It must leave
 * nothing pinned when it fails.
 */
typedef TSS2_RC (*tpm_once_fn)(struct tpm *t, void *arg);

/*
 * Runs once(t, arg), first starting the process session salted to salt when salt is not NULL
 * and there is none. Retries while the TPM says to (RETRY, YIELDED, TESTING), and once more
 * after the TPM lost our session or handles (it was restarted). Caller holds t->lock.
 */
TSS2_RC tpm_call(struct tpm *t, struct tpm_obj *salt, tpm_once_fn once, void *arg);

#endif
