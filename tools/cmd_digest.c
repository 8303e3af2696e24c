/*
 * tpmtok digest: a file hashed by the token (C_DigestInit/Update/Final). With --resume-at the
 * operation moves to a new session half way (C_GetOperationState, C_SetOperationState), which
 * shows a saved state continuing where it stopped.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHUNK 65536

struct digest_word {
    const char *word;
    CK_MECHANISM_TYPE mech;
};

static const struct digest_word digest_words[] = {
    { "sha1", CKM_SHA_1 },
    { "sha256", CKM_SHA256 },
    { "sha384", CKM_SHA384 },
    { "sha512", CKM_SHA512 },
};

static bool digest_mech(const char *word, CK_MECHANISM_TYPE *mech)
{
    for (size_t i = 0; i < sizeof digest_words / sizeof digest_words[0]; i++) {
        if (strcmp(word, digest_words[i].word) == 0) {
            *mech = digest_words[i].mech;
            return true;
        }
    }
    return false;
}

/* Parses --resume-at: a byte count. */
static bool resume_parse(const char *s, unsigned long long *n)
{
    char *end;

    errno = 0;
    *n = strtoull(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0;
}

/* Moves the digest in progress from *s to a new session, which *s becomes. */
static int digest_move(struct tool *t, const struct token *tok, CK_SESSION_HANDLE *s)
{
    CK_BYTE *state = NULL;
    CK_ULONG len = 0;
    CK_SESSION_HANDLE next = CK_INVALID_HANDLE;
    CK_RV rv;
    int ret;

    if ((rv = t->f->C_GetOperationState(*s, NULL, &len)) != CKR_OK)
        return fail_rv("C_GetOperationState", rv);
    if ((state = malloc(len > 0 ? len : 1)) == NULL) {
        errorf("out of memory");
        return EXIT_PKCS11;
    }
    if ((rv = t->f->C_GetOperationState(*s, state, &len)) != CKR_OK) {
        ret = fail_rv("C_GetOperationState", rv);
        goto out;
    }
    t->f->C_CloseSession(*s);
    *s = CK_INVALID_HANDLE;
    if ((ret = session_open(t, tok, false, &next)) != EXIT_OK)
        goto out;
    *s = next;
    if ((rv = t->f->C_SetOperationState(*s, state, len, CK_INVALID_HANDLE,
                                        CK_INVALID_HANDLE)) != CKR_OK)
        ret = fail_rv("C_SetOperationState", rv);
    else
        fprintf(stderr, "tpmtok: saved the digest's state (%lu bytes), closed the session, "
                        "restored it in a new one\n", (unsigned long)len);
out:
    free(state);
    return ret;
}

/* Feeds the file to the digest, moving it to a new session after resume_at bytes if asked. */
static int digest_feed(struct tool *t, const struct token *tok, CK_SESSION_HANDLE *s, FILE *fp,
                       const char *path, bool resume, unsigned long long resume_at)
{
    static CK_BYTE buf[CHUNK];
    unsigned long long done = 0;
    size_t want, got;
    CK_RV rv;
    int ret;

    for (;;) {
        want = sizeof buf;
        if (resume && resume_at - done < want)
            want = (size_t)(resume_at - done);
        if (want == 0) {
            if ((ret = digest_move(t, tok, s)) != EXIT_OK)
                return ret;
            resume = false;
            continue;
        }
        if ((got = fread(buf, 1, want, fp)) == 0)
            break;
        if ((rv = t->f->C_DigestUpdate(*s, buf, got)) != CKR_OK)
            return fail_rv("C_DigestUpdate", rv);
        done += got;
    }
    if (ferror(fp)) {
        errorf("%s: %s", path, strerror(errno));
        return EXIT_FILE;
    }
    if (resume) {
        errorf("digest: --resume-at %llu is past the end of %s (%llu bytes)", resume_at, path,
               done);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int digest_print(struct tool *t, CK_SESSION_HANDLE s, const char *path)
{
    CK_BYTE out[64];
    CK_ULONG len = sizeof out;
    CK_RV rv;

    if ((rv = t->f->C_DigestFinal(s, out, &len)) != CKR_OK)
        return fail_rv("C_DigestFinal", rv);
    hex_print(stdout, out, len);
    printf("  %s\n", path);
    return EXIT_OK;
}

int cmd_digest(struct tool *t, const struct opts *o)
{
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    unsigned long long resume_at = 0;
    struct token tok;
    FILE *fp = NULL;
    CK_RV rv;
    int ret;

    if (o->mechanism != NULL && !digest_mech(o->mechanism, &mech.mechanism)) {
        errorf("digest: --mechanism is sha1, sha256, sha384 or sha512");
        return EXIT_USAGE;
    }
    if (o->resume_at != NULL && !resume_parse(o->resume_at, &resume_at)) {
        errorf("digest: --resume-at takes a byte count");
        return EXIT_USAGE;
    }
    if ((ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK)
        return ret;
    if ((fp = strcmp(o->arg, "-") == 0 ? stdin : fopen(o->arg, "rb")) == NULL) {
        errorf("%s: %s", o->arg, strerror(errno));
        return EXIT_FILE;
    }
    if ((ret = session_open(t, &tok, false, &s)) != EXIT_OK)
        goto out;
    if ((rv = t->f->C_DigestInit(s, &mech)) != CKR_OK) {
        ret = fail_rv("C_DigestInit", rv);
        goto out;
    }
    if ((ret = digest_feed(t, &tok, &s, fp, o->arg, o->resume_at != NULL, resume_at)) == EXIT_OK)
        ret = digest_print(t, s, o->arg);
out:
    if (s != CK_INVALID_HANDLE)
        t->f->C_CloseSession(s);
    if (fp != stdin)
        fclose(fp);
    return ret;
}
