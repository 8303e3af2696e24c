/*
 * test/fuzz/drive: runs data through the fake session's operation of one kind as an
 * application would, steps taken from the fuzz input: C_*Update, C_*Final, the single-part
 * call (each with an output buffer of a fuzzed size, or NULL to ask the length), and saving
 * and restoring the operation state in between.
 */
#ifndef TPMTOK_FUZZ_DRIVE_H
#define TPMTOK_FUZZ_DRIVE_H

#include "fuzz/fuzz.h"
#include "p11.h"
#include "token/op.h"

/*
 * Each step: u8 call (mod 4: update, final, single, save and restore; bit 4: output NULL;
 * bit 5: empty data and signature given as NULL, which the entry points let through),
 * u16 output size, u16 data length and the data, u16 signature length and the signature
 * (verify's final and single-part call). At most 8 steps.
 */
void drive_ops(struct fuzz_in *in, enum op_kind kind, CK_OBJECT_HANDLE enc_key,
               CK_OBJECT_HANDLE auth_key);
/*
 * C_GetOperationState, then C_SetOperationState with it and the keys (given only where the
 * session's operations need them); aborts if a state just saved does not restore.
 */
void drive_save_restore(CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key);

#endif
