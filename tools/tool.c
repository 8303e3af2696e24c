/* The CLI's plumbing: messages, loading the module, choosing a token, sessions, and PINs. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "names.h"
#include "uri.h"

#define MAX_SLOTS 256

void errorf(const char *fmt, ...)
{
    va_list ap;

    fputs("tpmtok: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int fail_rv(const char *call, CK_RV rv)
{
    const char *name = rv_name(rv), *words = rv_words(rv);

    if (name != NULL)
        errorf("%s: %s (%s)", call, name, words);
    else
        errorf("%s: CK_RV 0x%08lx (not a value PKCS#11 2.40 names)", call, (unsigned long)rv);
    return EXIT_PKCS11;
}

int tool_open(struct tool *t)
{
    CK_C_GetFunctionList get;
    CK_RV rv;

    if ((t->dl = dlopen(t->module_path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        errorf("cannot load the module %s: %s", t->module_path, dlerror());
        return EXIT_MODULE;
    }
    get = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList");
    if (get == NULL || get(&t->f) != CKR_OK || t->f == NULL) {
        errorf("%s is not a PKCS#11 module (no usable C_GetFunctionList)", t->module_path);
        t->f = NULL;
        return EXIT_MODULE;
    }
    if ((rv = t->f->C_Initialize(NULL)) != CKR_OK) {
        fail_rv("C_Initialize", rv);
        t->f = NULL;
        return EXIT_MODULE;
    }
    return EXIT_OK;
}

void tool_close(struct tool *t)
{
    if (t->f != NULL)
        t->f->C_Finalize(NULL);
    if (t->dl != NULL)
        dlclose(t->dl);
    t->f = NULL;
    t->dl = NULL;
}

size_t padded_len(const CK_UTF8CHAR *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    return n;
}

static void token_fill(CK_SLOT_ID slot, const CK_TOKEN_INFO *info, struct token *tok)
{
    size_t n;

    tok->slot = slot;
    tok->info = *info;
    n = padded_len(info->label, sizeof info->label);
    memcpy(tok->label, info->label, n);
    tok->label[n] = '\0';
    n = padded_len(info->serialNumber, sizeof info->serialNumber);
    memcpy(tok->serial, info->serialNumber, n);
    tok->serial[n] = '\0';
}

int token_list(struct tool *t, struct token **out, size_t *count)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    CK_TOKEN_INFO info;
    struct token *toks;
    CK_RV rv;

    *out = NULL;
    *count = 0;
    if ((rv = t->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return fail_rv("C_GetSlotList", rv);
    if ((toks = calloc(n > 0 ? n : 1, sizeof *toks)) == NULL) {
        errorf("out of memory");
        return EXIT_PKCS11;
    }
    for (CK_ULONG i = 0; i < n; i++) {
        if ((rv = t->f->C_GetTokenInfo(slots[i], &info)) != CKR_OK) {
            free(toks);
            return fail_rv("C_GetTokenInfo", rv);
        }
        token_fill(slots[i], &info, &toks[i]);
    }
    *out = toks;
    *count = n;
    return EXIT_OK;
}

/* Whether the token is initialized and matches the URI if given, else the label (NULL: any). */
static bool token_matches(const struct token *tok, const char *label, const struct uri *u)
{
    if (!(tok->info.flags & CKF_TOKEN_INITIALIZED))
        return false;
    if (u != NULL)
        return uri_matches_token(u, &tok->info);
    return label == NULL || strcmp(label, tok->label) == 0;
}

/* Picks the one token matching; what to say when none or several do depends on what was asked. */
static int token_pick(const struct token *toks, size_t n, const char *label, const struct uri *u,
                      const char *spec, struct token *out)
{
    size_t found = 0;

    for (size_t i = 0; i < n; i++) {
        if (token_matches(&toks[i], label, u)) {
            if (found++ == 0)
                *out = toks[i];
        }
    }
    if (found == 1)
        return EXIT_OK;
    if (found == 0 && spec == NULL) {
        errorf("no token yet (tpmtok init --label L creates one)");
        return EXIT_NOT_FOUND;
    }
    if (found == 0) {
        errorf("no token \"%s\" (tpmtok list shows the tokens)", spec);
        return EXIT_NOT_FOUND;
    }
    if (spec == NULL)
        errorf("there are %zu tokens: choose one with --token", found);
    else
        errorf("%zu tokens match \"%s\": name one by its serial in a URI", found, spec);
    return EXIT_USAGE;
}

int token_select(struct tool *t, const char *spec, const char *object_uri, struct token *out)
{
    struct token *toks = NULL;
    struct uri u = { 0 };
    bool use_uri = false;
    size_t n;
    int ret;

    if (spec != NULL && uri_is(spec)) {
        if ((ret = uri_parse(spec, &u)) != EXIT_OK)
            goto out;
        use_uri = true;
    } else if (spec == NULL && object_uri != NULL && uri_is(object_uri)) {
        if ((ret = uri_parse(object_uri, &u)) != EXIT_OK)
            goto out;
        use_uri = uri_names_token(&u);
        spec = use_uri ? object_uri : NULL;
    }
    if ((ret = token_list(t, &toks, &n)) != EXIT_OK)
        goto out;
    ret = token_pick(toks, n, use_uri ? NULL : spec, use_uri ? &u : NULL, spec, out);
out:
    free(toks);
    uri_free(&u);
    return ret;
}

int session_open(struct tool *t, const struct token *tok, bool rw, CK_SESSION_HANDLE *s)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv;

    if ((rv = t->f->C_OpenSession(tok->slot, flags, NULL, NULL, s)) != CKR_OK)
        return fail_rv("C_OpenSession", rv);
    return EXIT_OK;
}

int session_login(struct tool *t, CK_SESSION_HANDLE s, CK_USER_TYPE who, const struct pin *pin)
{
    CK_RV rv = t->f->C_Login(s, who, (CK_UTF8CHAR *)pin->v, pin->len);

    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return EXIT_OK;
    return fail_rv("C_Login", rv);
}

int session_open_login(struct tool *t, const struct token *tok, bool rw, const char *pin_value,
                       const char *pin_file, CK_SESSION_HANDLE *s)
{
    struct pin pin = { 0 };
    char prompt[sizeof tok->label + 32];
    int ret;

    snprintf(prompt, sizeof prompt, "User PIN of \"%s\"", tok->label);
    if ((ret = pin_read(pin_value, pin_file, prompt, false, &pin)) != EXIT_OK)
        goto out;
    if ((ret = session_open(t, tok, rw, s)) != EXIT_OK)
        goto out;
    if ((ret = session_login(t, *s, CKU_USER, &pin)) != EXIT_OK) {
        t->f->C_CloseSession(*s);
        *s = CK_INVALID_HANDLE;
    }
out:
    pin_wipe(&pin);
    return ret;
}

bool pin_given(const char *value, const char *file)
{
    return value != NULL || file != NULL;
}

void pin_wipe(struct pin *p)
{
    explicit_bzero(p, sizeof *p);
}

/* Reads one line into p; false at end of file. A line too long for a PIN is cut (and refused). */
static bool pin_line(FILE *fp, struct pin *p)
{
    if (fgets(p->v, sizeof p->v, fp) == NULL)
        return false;
    p->len = strcspn(p->v, "\r\n");
    if (p->len == strlen(p->v) && p->len == sizeof p->v - 1)
        p->len = sizeof p->v;   /* no newline seen: longer than PIN_MAX */
    else
        p->v[p->len] = '\0';
    return true;
}

static int pin_from_file(const char *file, struct pin *p)
{
    FILE *fp = fopen(file, "r");
    bool ok;

    if (fp == NULL) {
        errorf("%s: %s", file, strerror(errno));
        return EXIT_FILE;
    }
    ok = pin_line(fp, p);
    fclose(fp);
    if (!ok) {
        errorf("%s: empty file (a PIN file holds the PIN on its first line)", file);
        return EXIT_FILE;
    }
    return EXIT_OK;
}

/* Asks on the terminal without echo; false when nothing could be read. */
static bool pin_prompt(const char *prompt, struct pin *p)
{
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0, ok;

    fprintf(stderr, "%s: ", prompt);
    fflush(stderr);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ok = pin_line(stdin, p);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return ok;
}

static int pin_ask(const char *prompt, bool confirm, struct pin *out)
{
    struct pin again = { 0 };
    char prompt2[256];
    int ret = EXIT_OK;

    if (!isatty(STDIN_FILENO)) {
        errorf("%s: give it with an option or a file (standard input is not a terminal)", prompt);
        return EXIT_USAGE;
    }
    if (!pin_prompt(prompt, out)) {
        errorf("%s: nothing read", prompt);
        return EXIT_USAGE;
    }
    if (confirm) {
        snprintf(prompt2, sizeof prompt2, "%s again", prompt);
        if (!pin_prompt(prompt2, &again) || again.len != out->len ||
            memcmp(again.v, out->v, out->len) != 0) {
            errorf("%s: the two entries differ", prompt);
            ret = EXIT_USAGE;
        }
    }
    pin_wipe(&again);
    return ret;
}

int pin_read(const char *value, const char *file, const char *prompt, bool confirm,
             struct pin *out)
{
    int ret;

    memset(out, 0, sizeof *out);
    if (value != NULL) {
        out->len = strlen(value);
        if (out->len <= PIN_MAX)
            memcpy(out->v, value, out->len);
        ret = EXIT_OK;
    } else if (file != NULL) {
        ret = pin_from_file(file, out);
    } else {
        ret = pin_ask(prompt, confirm, out);
    }
    if (ret == EXIT_OK && (out->len == 0 || out->len > PIN_MAX)) {
        errorf("%s: a PIN has 1 to %d bytes", prompt, PIN_MAX);
        ret = EXIT_USAGE;
    }
    if (ret != EXIT_OK)
        pin_wipe(out);
    return ret;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool hex_parse(const char *s, uint8_t **out, size_t *len)
{
    size_t n = 0, cap = strlen(s) / 2 + 1;
    uint8_t *v = malloc(cap);
    int hi, lo;

    if (v == NULL)
        return false;
    while (*s != '\0') {
        if (*s == ':' && n > 0 && s[1] != '\0') {
            s++;
            continue;
        }
        if ((hi = hex_digit(s[0])) < 0 || (lo = hex_digit(s[1])) < 0) {
            free(v);
            return false;
        }
        v[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    if (n == 0) {
        free(v);
        return false;
    }
    *out = v;
    *len = n;
    return true;
}

int id_option(const char *cmd, const char *hex, uint8_t **id, size_t *len)
{
    *id = NULL;
    *len = 0;
    if (hex != NULL && !hex_parse(hex, id, len)) {
        errorf("%s: --id takes hex bytes, e.g. 01 or 0a:1b", cmd);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

void hex_print(FILE *fp, const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%02x", v[i]);
}

int file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *v = NULL;
    size_t n = 0;
    int ret = EXIT_FILE;

    if (fp == NULL) {
        errorf("%s: %s", path, strerror(errno));
        return EXIT_FILE;
    }
    if ((v = malloc(max + 1)) == NULL) {
        errorf("out of memory");
        goto out;
    }
    n = fread(v, 1, max + 1, fp);
    if (ferror(fp)) {
        errorf("%s: %s", path, strerror(errno));
        goto out;
    }
    if (n > max) {
        errorf("%s: larger than %zu bytes", path, max);
        goto out;
    }
    *out = v;
    *len = n;
    v = NULL;   /* transferred */
    ret = EXIT_OK;
out:
    free(v);
    if (fp != stdin)
        fclose(fp);
    return ret;
}

int file_write(const char *path, const char *text)
{
    FILE *fp = path == NULL ? stdout : fopen(path, "w");
    bool ok;

    if (fp == NULL) {
        errorf("%s: %s", path, strerror(errno));
        return EXIT_FILE;
    }
    ok = fputs(text, fp) >= 0;
    ok = (fp == stdout ? fflush(fp) == 0 : fclose(fp) == 0) && ok;
    if (!ok) {
        errorf("%s: %s", path != NULL ? path : "standard output", strerror(errno));
        return EXIT_FILE;
    }
    return EXIT_OK;
}
