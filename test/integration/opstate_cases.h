/* What the op-state tests share: token keys, fixtures, operations as data, checks on results. */
#ifndef TPMTOK_TEST_OPSTATE_CASES_H
#define TPMTOK_TEST_OPSTATE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "harness/swtpm.h"
#include "p11.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every operation works on MSG_LEN bytes: more than two TPM buffers (1024 bytes) of data. */
#define MSG_LEN 3000
#define MAX_OUT (MSG_LEN + 512)

extern struct swtpm tpm;              /* restarted and counted by the TPM tests */
extern CK_FUNCTION_LIST *f;
extern CK_SESSION_HANDLE s;           /* the user's R/W session, logged in by setup */
extern CK_SLOT_ID slot;               /* the token setup makes */
extern uint8_t msg[5000], alt[5000];  /* the message; other data to go on with */
extern uint8_t aes_value[32], mac_value[32];   /* the AES and HMAC keys' values, for OpenSSL */
extern EVP_PKEY *ossl_rsa;            /* the token's RSA key, as OpenSSL signs with it */

/* Part sizes: before saving, in the restored session, in the saved session. */
extern const size_t lead_parts[3], rest_parts[6], orig_parts[3];

/* ---- keys */

/* The token keys every test has; then non-private session keys the login test makes. */
enum key_slot {
    NO_KEY, KEY_AES, KEY_MAC, KEY_RSA, KEY_RSA_PUB, KEY_EC, KEY_EC_PUB, N_TOKEN_KEYS,
    KEY_OPEN_AES = N_TOKEN_KEYS, KEY_OPEN_MAC, N_KEYS
};
extern CK_OBJECT_HANDLE keys[N_KEYS];   /* keys[NO_KEY] stays CK_INVALID_HANDLE */

/* Looks the keys up again by label, as another process or a new C_Initialize must. */
bool find_keys(CK_SESSION_HANDLE h);

/* ---- fixtures */

/* cmocka group setup and teardown: swtpm, the module, the message and OpenSSL's keys. */
int group_setup(void **state);
int group_teardown(void **state);
/* cmocka test setup and teardown: a new store; a token, its user logged in on s; the keys. */
int setup(void **state);
int teardown(void **state);

/* The state of session from, malloc'ed. */
uint8_t *get_state(CK_SESSION_HANDLE from, CK_ULONG *len);
CK_SESSION_HANDLE open_on(CK_SLOT_ID on, CK_FLAGS flags);
/* A R/W session on the token of s. */
CK_SESSION_HANDLE new_session(void);

/* ---- operations as data: what is run, on what, and what OpenSSL says it must give */

enum kind { DIGEST, SIGN, VERIFY, ENCRYPT, DECRYPT };
extern const char *const kind_names[5];   /* for messages, by enum kind */

struct opcase {
    enum kind kind;
    CK_MECHANISM_TYPE type;
    enum key_slot key;
    bool every_split;          /* saved at every split point, not only some */
};

struct job {
    const struct opcase *c;
    CK_MECHANISM m;
    const uint8_t *plain;      /* the message */
    size_t plain_len;
    const uint8_t *in;         /* what the operation is fed: the message, or its cipher text */
    size_t len;
    uint8_t ct[MAX_OUT];       /* decryption: the cipher text */
    uint8_t sig[1024];         /* verification: a right signature */
    size_t sig_len;
};

/* Output collected across calls (cipher text, plain text, a digest or a signature). */
struct out {
    uint8_t b[MAX_OUT];
    CK_ULONG n;
};

/* A state saved from a session of its own after split bytes, with the output they gave. */
struct saved {
    const struct job *j;
    size_t split;
    uint8_t *st;
    CK_ULONG st_len;
    struct out prefix;
};

/* The mechanism with the parameters the tests use for type (IV, counter, PSS, OAEP...). */
CK_MECHANISM mechanism(CK_MECHANISM_TYPE type);
/* The message length for type: ECB and CBC take whole blocks only. */
size_t msg_len_for(CK_MECHANISM_TYPE type);
bool is_cipher(const struct job *j);
/* A job for c on plain; decryption and verification get their cipher text or signature. */
void job_init(struct job *j, const struct opcase *c, const uint8_t *plain, size_t len);

/* No cmocka assertion from here to the checks: the forked child of test_opstate uses these. */

/* The job's *Init in h. */
CK_RV begin(CK_SESSION_HANDLE h, const struct job *j);
/* One update of a kind; cipher output is appended to o. */
CK_RV update(CK_SESSION_HANDLE h, enum kind kind, const uint8_t *in, size_t len, struct out *o);
/* Feeds the job's input from..to in parts of the sizes in turn. */
CK_RV feed(CK_SESSION_HANDLE h, const struct job *j, size_t from, size_t to,
           const size_t *sizes, size_t n_sizes, struct out *o);
/* Ends the job: its result is appended to o; a verification checks j->sig, altered if wrong. */
CK_RV finish(CK_SESSION_HANDLE h, const struct job *j, bool wrong, struct out *o);
/* Feeds the rest of the job's input from from on, then ends it. */
CK_RV run_rest(CK_SESSION_HANDLE h, const struct job *j, size_t from, const size_t *sizes,
               size_t n_sizes, bool wrong, struct out *o);
/* C_SetOperationState with key in the argument the job's kind needs. */
CK_RV restore_with(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st, CK_ULONG len,
                   CK_OBJECT_HANDLE key);
/* The same with the job's own key. */
CK_RV restore(CK_SESSION_HANDLE h, const struct job *j, const uint8_t *st, CK_ULONG len);
/* Restores sv in h and runs it to the end there. */
CK_RV finish_saved(CK_SESSION_HANDLE h, const struct saved *sv, struct out *o);

/* A dual-function update (C_DigestEncryptUpdate and the like). */
typedef CK_RV (*dual_fn)(CK_SESSION_HANDLE, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);

/* Feeds cipher job c's input from..to through fn, in parts of varied sizes; output to o. */
CK_RV dual_feed(CK_SESSION_HANDLE h, dual_fn fn, const struct job *c, size_t from, size_t to,
                struct out *o);

/* ---- checks (cmocka) */

/* Fails unless o is what OpenSSL gives for j (how and split say where, in the message). */
void expect_result(const struct job *j, const struct out *o, const char *how, size_t split);
/* Starts j in h, feeds it split bytes and saves its state into sv. */
void save_in(CK_SESSION_HANDLE h, struct saved *sv, const struct job *j, size_t split);
/* Saves from a session that is then closed: the state outlives it. */
void save_after(struct saved *sv, const struct job *j, size_t split);
/* Restores sv in a new session of the slot; it must finish there with the right result. */
void expect_finishes(const struct saved *sv, const char *how);

/*
 * A session busy with a digest (and, with cipher, an AES-CTR encryption beside it), given
 * states that must be refused: afterwards its operations go on as if nothing had happened.
 */
struct target {
    CK_SESSION_HANDLE h;
    bool cipher;
    struct job digest, enc;
    struct out digest_out, enc_out;
};

/* Starts the target's operations in h, each 1000 bytes in. */
void target_start(struct target *t, CK_SESSION_HANDLE h, bool cipher);
/* Finishes the target's operations; each must give the right result. */
void target_expect_untouched(struct target *t);

#endif
