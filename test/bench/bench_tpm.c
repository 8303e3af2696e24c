/*
 * bench_tpm: the TPM's own limit for each of bench_p11's figures, measured on raw ESAPI with
 * the least a client can send: loops of TPM2_Sign, EncryptDecrypt2 and SequenceUpdate over full
 * buffers, ContextSave + FlushContext + ContextLoad, Create, GetRandom, authorized with a
 * password session (TPM2_RS_PW). A module on the same TPM cannot beat these, so its figure over
 * this one is its overhead:
 *
 *     bench_tpm [--seconds S] [--csv FILE] [--only FIGURES]      (the TPM: TPMTOK_TCTI)
 *
 * A few extra figures show what sessions cost: ECDSA signing and AES through an HMAC session,
 * with and without parameter encryption (the session salted with the primary, as a module
 * that keeps secrets off the bus would use it). Figure names are bench_p11's without the way
 * the data is cut (digest_sha256 is the limit of digest_sha256_1call and digest_sha256_100B).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "bench/bench_util.h"

#define DATA_LEN (1024 * 1024)
/* Data per operation of the slow session-encrypted AES figure: one MiB would take seconds. */
#define SESSION_AES_LEN (64 * 1024)

struct tpm {
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_TR primary;
    double seconds;
    struct bench_out *out;
    uint8_t *data;              /* DATA_LEN bytes of a fixed pattern */
    size_t max_buffer;          /* TPM2B_MAX_BUFFER's size on this TPM */
};

/* A key made once under the primary and loaded for the figures that use it. */
struct key_blob {
    TPM2B_PRIVATE *priv;
    TPM2B_PUBLIC *pub;
};

typedef TSS2_RC (*tpm_op)(struct tpm *t, void *arg, unsigned i);

struct tpm_timed {
    unsigned n;
    double secs;
    struct bench_rounds rounds;   /* the figure is the best round's */
    struct bench_cmds cmds;
};

/* Like bench_p11's loop: op while the budget lasts (in rounds), at least once, at most max times. */
static TSS2_RC tpm_run(struct tpm *t, tpm_op op, void *arg, unsigned max, struct tpm_timed *r)
{
    struct bench_cmds before;
    TSS2_RC rc = TSS2_RC_SUCCESS;

    memset(r, 0, sizeof *r);
    bench_rounds_start(&r->rounds, t->seconds);
    while (bench_more(r->n, max, r->secs, t->seconds)) {
        double t0, secs;
        bench_cmds_snap(t->out, &before);
        t0 = bench_now();
        rc = op(t, arg, r->n);
        secs = bench_now() - t0;
        r->secs += secs;
        bench_cmds_add_since(t->out, &before, &r->cmds);
        if (rc != TSS2_RC_SUCCESS)
            break;
        r->n++;
        bench_rounds_add(&r->rounds, secs);
    }
    return rc;
}

static void tpm_report(struct tpm *t, const char *figure, enum bench_unit unit, double scale,
                       const struct tpm_timed *r, TSS2_RC rc)
{
    unsigned n;
    double secs;

    if (rc != TSS2_RC_SUCCESS) {
        bench_fail(t->out, figure, Tss2_RC_Decode(rc));
        return;
    }
    bench_rounds_result(&r->rounds, r->n, r->secs, &n, &secs);
    bench_result(t->out, figure, unit, n, secs, scale, r->n, &r->cmds);
}

/* ---- templates */

#define KEY_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
                   TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

static const TPM2B_PUBLIC primary_template = {
    .publicArea = {
        .type = TPM2_ALG_ECC, .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
        .parameters.eccDetail = {
            .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                           .mode.aes = TPM2_ALG_CFB },
            .scheme.scheme = TPM2_ALG_NULL, .curveID = TPM2_ECC_NIST_P256,
            .kdf.scheme = TPM2_ALG_NULL,
        },
    },
};

static const TPM2B_PUBLIC ec_template = {
    .publicArea = {
        .type = TPM2_ALG_ECC, .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.eccDetail = {
            .symmetric.algorithm = TPM2_ALG_NULL, .scheme.scheme = TPM2_ALG_NULL,
            .curveID = TPM2_ECC_NIST_P256, .kdf.scheme = TPM2_ALG_NULL,
        },
    },
};

static const TPM2B_PUBLIC rsa_template = {
    .publicArea = {
        .type = TPM2_ALG_RSA, .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT,
        .parameters.rsaDetail = {
            .symmetric.algorithm = TPM2_ALG_NULL, .scheme.scheme = TPM2_ALG_NULL,
            .keyBits = 2048, .exponent = 0,
        },
    },
};

static const TPM2B_PUBLIC aes_template = {
    .publicArea = {
        .type = TPM2_ALG_SYMCIPHER, .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = KEY_ATTRS | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT,
        .parameters.symDetail.sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                                      .mode.aes = TPM2_ALG_NULL },
    },
};

/* ---- setup */

static TSS2_RC tpm_open(struct tpm *t)
{
    const char *conf = getenv("TPMTOK_TCTI");
    TPM2B_SENSITIVE_CREATE no_auth = { 0 };
    TPM2B_DATA no_data = { 0 };
    TPML_PCR_SELECTION no_pcrs = { 0 };
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TPMS_CAPABILITY_DATA *caps = NULL;
    TSS2_RC rc;

    rc = Tss2_TctiLdr_Initialize(conf != NULL && *conf != '\0' ? conf : NULL, &t->tcti);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    if ((rc = Esys_Initialize(&t->esys, t->tcti, NULL)) != TSS2_RC_SUCCESS)
        return rc;
    rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
    if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE)
        return rc;
    rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_INPUT_BUFFER, 1, NULL, &caps);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    t->max_buffer = sizeof(((TPM2B_MAX_BUFFER *)0)->buffer);
    if (caps->data.tpmProperties.count == 1 &&
        caps->data.tpmProperties.tpmProperty[0].property == TPM2_PT_INPUT_BUFFER &&
        caps->data.tpmProperties.tpmProperty[0].value < t->max_buffer)
        t->max_buffer = caps->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(caps);
    rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &no_auth, &primary_template, &no_data, &no_pcrs,
                            &t->primary, &pub, &cdata, &chash, &ticket);
    Esys_Free(pub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return rc;
}

static void tpm_close(struct tpm *t)
{
    if (t->esys != NULL) {
        if (t->primary != ESYS_TR_NONE)
            Esys_FlushContext(t->esys, t->primary);
        Esys_Finalize(&t->esys);
    }
    Tss2_TctiLdr_Finalize(&t->tcti);
}

/* TPM2_Create of a key with an empty auth value under the primary. */
static TSS2_RC key_create(struct tpm *t, const TPM2B_PUBLIC *tmpl, struct key_blob *k)
{
    TPM2B_SENSITIVE_CREATE no_auth = { 0 };
    TPM2B_DATA no_data = { 0 };
    TPML_PCR_SELECTION no_pcrs = { 0 };
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc;

    rc = Esys_Create(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                     &no_auth, tmpl, &no_data, &no_pcrs, &k->priv, &k->pub, &cdata, &chash,
                     &ticket);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return rc;
}

static void key_blob_free(struct key_blob *k)
{
    Esys_Free(k->priv);
    Esys_Free(k->pub);
    k->priv = NULL;
    k->pub = NULL;
}

/* Creates and loads a key of tmpl; the caller flushes *key. */
static TSS2_RC key_make_loaded(struct tpm *t, const TPM2B_PUBLIC *tmpl, ESYS_TR *key)
{
    struct key_blob k = { NULL, NULL };
    TSS2_RC rc;

    if ((rc = key_create(t, tmpl, &k)) == TSS2_RC_SUCCESS)
        rc = Esys_Load(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                       k.priv, k.pub, key);
    key_blob_free(&k);
    return rc;
}

/*
 * An HMAC session salted with the primary; with encrypt, the first command parameter goes
 * encrypted (AES-128-CFB) as a module sends secrets and digests.
 */
static TSS2_RC session_start(struct tpm *t, bool encrypt, ESYS_TR *sess)
{
    TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
    TPMA_SESSION attrs = TPMA_SESSION_CONTINUESESSION | (encrypt ? TPMA_SESSION_DECRYPT : 0);
    TSS2_RC rc;

    rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, sess);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    return Esys_TRSess_SetAttributes(t->esys, *sess, attrs, 0xff);
}

/* ---- signatures */

struct sign_arg {
    ESYS_TR key, sess;
    TPMT_SIG_SCHEME scheme;
};

static TSS2_RC sign_one(struct tpm *t, void *arg, unsigned i)
{
    struct sign_arg *a = arg;
    TPM2B_DIGEST digest = { .size = 32 };
    TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc;

    memset(digest.buffer, 0x5a, 32);
    digest.buffer[31] = (uint8_t)i;
    rc = Esys_Sign(t->esys, a->key, a->sess, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &a->scheme,
                   &no_ticket, &sig);
    Esys_Free(sig);
    return rc;
}

/* Signs with key in session kind 0 (password), 1 (HMAC) or 2 (HMAC + parameter encryption). */
static void sign_figure(struct tpm *t, const char *figure, ESYS_TR key, TPM2_ALG_ID scheme,
                        int kind)
{
    struct sign_arg a = { .key = key, .sess = ESYS_TR_PASSWORD };
    struct tpm_timed r = { 0 };
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (!bench_wanted(t->out, figure))
        return;
    a.scheme.scheme = scheme;
    a.scheme.details.any.hashAlg = TPM2_ALG_SHA256;
    if (kind > 0)
        rc = session_start(t, kind == 2, &a.sess);
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_run(t, sign_one, &a, 1000000, &r);
    if (kind > 0 && a.sess != ESYS_TR_PASSWORD)
        Esys_FlushContext(t->esys, a.sess);
    tpm_report(t, figure, BENCH_PER_S, 0, &r, rc);
}

static void bench_sign(struct tpm *t)
{
    ESYS_TR key = ESYS_TR_NONE;
    TSS2_RC rc;

    if (bench_wanted_group(t->out, "sign_ecdsa")) {
        if ((rc = key_make_loaded(t, &ec_template, &key)) != TSS2_RC_SUCCESS) {
            bench_fail(t->out, "sign_ecdsa_p256", Tss2_RC_Decode(rc));
        } else {
            sign_figure(t, "sign_ecdsa_p256", key, TPM2_ALG_ECDSA, 0);
            sign_figure(t, "sign_ecdsa_p256_hmac", key, TPM2_ALG_ECDSA, 1);
            sign_figure(t, "sign_ecdsa_p256_hmac_enc", key, TPM2_ALG_ECDSA, 2);
            Esys_FlushContext(t->esys, key);
        }
    }
    if (bench_wanted_group(t->out, "sign_rsa")) {
        if ((rc = key_make_loaded(t, &rsa_template, &key)) != TSS2_RC_SUCCESS) {
            bench_fail(t->out, "sign_rsa2048_pkcs1", Tss2_RC_Decode(rc));
        } else {
            sign_figure(t, "sign_rsa2048_pkcs1", key, TPM2_ALG_RSASSA, 0);
            sign_figure(t, "sign_rsa2048_pss", key, TPM2_ALG_RSAPSS, 0);
            Esys_FlushContext(t->esys, key);
        }
    }
}

/* ---- SHA-256 of 1 MiB: HashSequenceStart, SequenceUpdate of full buffers, SequenceComplete */

static TSS2_RC digest_one(struct tpm *t, void *arg, unsigned i)
{
    TPM2B_AUTH no_auth = { 0 };
    TPM2B_MAX_BUFFER piece = { 0 }, last = { 0 };
    TPM2B_DIGEST *md = NULL;
    TPMT_TK_HASHCHECK *ticket = NULL;
    ESYS_TR seq = ESYS_TR_NONE;
    TSS2_RC rc;

    (void)arg;
    (void)i;
    rc = Esys_HashSequenceStart(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &no_auth,
                                TPM2_ALG_SHA256, &seq);
    for (size_t off = 0; rc == TSS2_RC_SUCCESS && off < DATA_LEN; off += t->max_buffer) {
        piece.size = (UINT16)(DATA_LEN - off < t->max_buffer ? DATA_LEN - off : t->max_buffer);
        memcpy(piece.buffer, t->data + off, piece.size);
        rc = Esys_SequenceUpdate(t->esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &piece);
    }
    if (rc == TSS2_RC_SUCCESS) {
        rc = Esys_SequenceComplete(t->esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &last, ESYS_TR_RH_NULL, &md, &ticket);
        seq = ESYS_TR_NONE;
    }
    if (seq != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, seq);
    Esys_Free(md);
    Esys_Free(ticket);
    return rc;
}

static void bench_digest(struct tpm *t)
{
    struct tpm_timed r = { 0 };
    TSS2_RC rc;

    if (!bench_wanted(t->out, "digest_sha256"))
        return;
    rc = tpm_run(t, digest_one, NULL, 10000, &r);
    tpm_report(t, "digest_sha256", BENCH_MIB_S, DATA_LEN / BENCH_MIB, &r, rc);
}

/* ---- AES-128-CBC of len bytes: EncryptDecrypt2 of full buffers, the IV chained */

struct cipher_arg {
    ESYS_TR key, sess;
    TPMI_YES_NO decrypt;
    size_t len;
};

static TSS2_RC cipher_one(struct tpm *t, void *arg, unsigned i)
{
    struct cipher_arg *a = arg;
    TPM2B_MAX_BUFFER in = { 0 }, *out = NULL;
    TPM2B_IV iv = { .size = 16 }, *iv_out = NULL;
    TSS2_RC rc = TSS2_RC_SUCCESS;

    (void)i;
    for (size_t off = 0; rc == TSS2_RC_SUCCESS && off < a->len; off += t->max_buffer) {
        in.size = (UINT16)(a->len - off < t->max_buffer ? a->len - off : t->max_buffer);
        memcpy(in.buffer, t->data + off, in.size);
        rc = Esys_EncryptDecrypt2(t->esys, a->key, a->sess, ESYS_TR_NONE, ESYS_TR_NONE, &in,
                                  a->decrypt, TPM2_ALG_CBC, &iv, &out, &iv_out);
        if (rc == TSS2_RC_SUCCESS)
            iv = *iv_out;
        Esys_Free(out);
        Esys_Free(iv_out);
        out = NULL;
        iv_out = NULL;
    }
    return rc;
}

static void cipher_figure(struct tpm *t, const char *figure, ESYS_TR key, bool decrypt,
                          bool session)
{
    struct cipher_arg a = { key, ESYS_TR_PASSWORD, decrypt ? TPM2_YES : TPM2_NO, DATA_LEN };
    struct tpm_timed r = { 0 };
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (!bench_wanted(t->out, figure))
        return;
    if (session) {
        a.len = SESSION_AES_LEN;
        rc = session_start(t, true, &a.sess);
    }
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_run(t, cipher_one, &a, 10000, &r);
    if (session && a.sess != ESYS_TR_PASSWORD)
        Esys_FlushContext(t->esys, a.sess);
    tpm_report(t, figure, BENCH_MIB_S, a.len / BENCH_MIB, &r, rc);
}

static void bench_cipher(struct tpm *t)
{
    ESYS_TR key = ESYS_TR_NONE;
    TSS2_RC rc;

    if (!bench_wanted_group(t->out, "aes128_cbc"))
        return;
    if ((rc = key_make_loaded(t, &aes_template, &key)) != TSS2_RC_SUCCESS) {
        bench_fail(t->out, "aes128_cbc_enc", Tss2_RC_Decode(rc));
        return;
    }
    cipher_figure(t, "aes128_cbc_enc", key, false, false);
    cipher_figure(t, "aes128_cbc_dec", key, true, false);
    cipher_figure(t, "aes128_cbc_enc_hmac_enc", key, false, true);
    Esys_FlushContext(t->esys, key);
}

/* ---- a sequence in progress: ContextSave + FlushContext + ContextLoad */

static TSS2_RC context_one(struct tpm *t, void *arg, unsigned i)
{
    ESYS_TR *seq = arg;
    TPMS_CONTEXT *saved = NULL;
    TSS2_RC rc;

    (void)i;
    if ((rc = Esys_ContextSave(t->esys, *seq, &saved)) != TSS2_RC_SUCCESS)
        return rc;
    if ((rc = Esys_FlushContext(t->esys, *seq)) == TSS2_RC_SUCCESS) {
        *seq = ESYS_TR_NONE;
        rc = Esys_ContextLoad(t->esys, saved, seq);
    }
    Esys_Free(saved);
    return rc;
}

static void bench_opstate(struct tpm *t)
{
    TPM2B_AUTH no_auth = { 0 };
    TPM2B_MAX_BUFFER piece = { .size = 100 };
    struct tpm_timed r = { 0 };
    ESYS_TR seq = ESYS_TR_NONE;
    TSS2_RC rc;

    if (!bench_wanted(t->out, "opstate_get_set"))
        return;
    rc = Esys_HashSequenceStart(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &no_auth,
                                TPM2_ALG_SHA256, &seq);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_SequenceUpdate(t->esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &piece);
    if (rc == TSS2_RC_SUCCESS)
        rc = tpm_run(t, context_one, &seq, 1000000, &r);
    if (seq != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, seq);
    tpm_report(t, "opstate_get_set", BENCH_PER_S, 0, &r, rc);
}

/* ---- key generation: TPM2_Create under the primary */

static TSS2_RC create_one(struct tpm *t, void *arg, unsigned i)
{
    struct key_blob k = { NULL, NULL };
    TSS2_RC rc = key_create(t, arg, &k);

    (void)i;
    key_blob_free(&k);
    return rc;
}

static void keygen_figure(struct tpm *t, const char *figure, const TPM2B_PUBLIC *tmpl,
                          unsigned max)
{
    struct tpm_timed r = { 0 };
    TSS2_RC rc;

    if (!bench_wanted(t->out, figure))
        return;
    rc = tpm_run(t, create_one, (void *)tmpl, max, &r);
    tpm_report(t, figure, BENCH_MS, 0, &r, rc);
}

/* ---- GetRandom of 32 bytes */

static TSS2_RC random_one(struct tpm *t, void *arg, unsigned i)
{
    TPM2B_DIGEST *rnd = NULL;
    TSS2_RC rc;

    (void)arg;
    (void)i;
    rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &rnd);
    Esys_Free(rnd);
    return rc;
}

static void bench_random(struct tpm *t)
{
    struct tpm_timed r = { 0 };
    TSS2_RC rc;

    if (!bench_wanted(t->out, "random_32"))
        return;
    rc = tpm_run(t, random_one, NULL, 10000000, &r);
    tpm_report(t, "random_32", BENCH_PER_S, 0, &r, rc);
}

/* ---- main */

static void usage(FILE *fp)
{
    fprintf(fp, "usage: bench_tpm [--seconds S] [--csv FILE] [--only FIGURES]\n"
                "  the TPM is TPMTOK_TCTI's (tss2's default TCTI when unset)\n");
}

/* 0, 1 (--help) or 2 (bad usage). */
static int parse_args(int argc, char **argv, double *seconds, const char **csv,
                      const char **only)
{
    static const struct option longopts[] = {
        { "seconds", required_argument, NULL, 's' }, { "csv", required_argument, NULL, 'c' },
        { "only", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            *seconds = strtod(optarg, &end);
            if (*end != '\0' || !(*seconds > 0.0 && *seconds <= 600.0)) {
                fprintf(stderr, "bench_tpm: --seconds wants a number in (0, 600]\n");
                return 2;
            }
            break;
        case 'c': *csv = optarg; break;
        case 'o': *only = optarg; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_out out;
    struct tpm t = { .primary = ESYS_TR_NONE, .seconds = 1.0, .out = &out };
    const char *csv = NULL, *only = NULL;
    TSS2_RC rc;
    int ret;

    memset(&out, 0, sizeof out);
    if ((ret = parse_args(argc, argv, &t.seconds, &csv, &only)) != 0)
        return ret == 1 ? 0 : 2;
    ret = 1;
    if (bench_out_open(&out, csv, only) != 0 || (t.data = malloc(DATA_LEN)) == NULL)
        goto out;
    for (size_t i = 0; i < DATA_LEN; i++)
        t.data[i] = (uint8_t)(i * 131 + (i >> 8));
    if ((rc = tpm_open(&t)) != TSS2_RC_SUCCESS) {
        fprintf(stderr, "bench_tpm: the TPM: %s\n", Tss2_RC_Decode(rc));
        goto out;
    }
    bench_sign(&t);
    bench_digest(&t);
    bench_cipher(&t);
    bench_opstate(&t);
    keygen_figure(&t, "keygen_ec_p256", &ec_template, 1000);
    keygen_figure(&t, "keygen_rsa2048", &rsa_template, 10);
    bench_random(&t);
    ret = 0;
out:
    tpm_close(&t);
    free(t.data);
    bench_out_close(&out);
    return ret;
}
