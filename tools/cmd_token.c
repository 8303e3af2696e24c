/* The token commands: info, list, init and passwd. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "names.h"
#include "objects.h"

struct flag_word {
    CK_FLAGS flag;
    const char *word;
};

static const struct flag_word token_flags[] = {
    { CKF_TOKEN_INITIALIZED, "initialized" },
    { CKF_USER_PIN_INITIALIZED, "user-PIN-set" },
    { CKF_LOGIN_REQUIRED, "login-required" },
    { CKF_WRITE_PROTECTED, "write-protected" },
    { CKF_RNG, "rng" },
    { CKF_DUAL_CRYPTO_OPERATIONS, "dual-crypto" },
    { CKF_PROTECTED_AUTHENTICATION_PATH, "protected-auth-path" },
    { CKF_USER_PIN_COUNT_LOW, "user-PIN-count-low" },
    { CKF_USER_PIN_FINAL_TRY, "user-PIN-final-try" },
    { CKF_USER_PIN_LOCKED, "user-PIN-locked" },
    { CKF_SO_PIN_COUNT_LOW, "SO-PIN-count-low" },
    { CKF_SO_PIN_FINAL_TRY, "SO-PIN-final-try" },
    { CKF_SO_PIN_LOCKED, "SO-PIN-locked" },
};

static const struct flag_word mech_flags[] = {
    { CKF_HW, "hw" },
    { CKF_DIGEST, "digest" },
    { CKF_SIGN, "sign" },
    { CKF_VERIFY, "verify" },
    { CKF_ENCRYPT, "encrypt" },
    { CKF_DECRYPT, "decrypt" },
    { CKF_SIGN_RECOVER, "sign-recover" },
    { CKF_VERIFY_RECOVER, "verify-recover" },
    { CKF_GENERATE, "generate" },
    { CKF_GENERATE_KEY_PAIR, "generate-key-pair" },
    { CKF_WRAP, "wrap" },
    { CKF_UNWRAP, "unwrap" },
    { CKF_DERIVE, "derive" },
    { CKF_EC_F_P, "ec-f-p" },
    { CKF_EC_NAMEDCURVE, "ec-named-curve" },
    { CKF_EC_UNCOMPRESS, "ec-uncompressed" },
    { CKF_EC_COMPRESS, "ec-compressed" },
};

static void flags_print(FILE *fp, CK_FLAGS flags, const struct flag_word *words, size_t n)
{
    const char *sep = "";

    for (size_t i = 0; i < n; i++) {
        if (flags & words[i].flag) {
            fprintf(fp, "%s%s", sep, words[i].word);
            sep = " ";
            flags &= ~words[i].flag;
        }
    }
    if (flags != 0)
        fprintf(fp, "%s0x%lx", sep, (unsigned long)flags);
    fputc('\n', fp);
}

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static void text_print(const char *name, const CK_UTF8CHAR *s, size_t n)
{
    printf("  %-18s %.*s\n", name, (int)padded_len(s, n), (const char *)s);
}

/* ---- info */

/* The store the module opens, found the way it finds it (see libtpmtok(8)). */
static void store_print(void)
{
    const char *v = getenv("TPMTOK_STORE"), *home;

    if (v != NULL && v[0] != '\0') {
        printf("store: %s (from TPMTOK_STORE)\n", v);
    } else if ((v = getenv("XDG_DATA_HOME")) != NULL && v[0] != '\0') {
        printf("store: %s/tpmtok/tpmtok.sqlite3 (from XDG_DATA_HOME)\n", v);
    } else if ((home = getenv("HOME")) != NULL && home[0] != '\0') {
        printf("store: %s/.local/share/tpmtok/tpmtok.sqlite3\n", home);
    } else {
        printf("store: unknown (neither TPMTOK_STORE, XDG_DATA_HOME nor HOME is set)\n");
    }
}

/* The TPM's dictionary-attack lockout, which the module shows as the PIN flags. */
static const char *lockout_words(CK_FLAGS f)
{
    if (f & CKF_USER_PIN_LOCKED)
        return "locked out: the TPM refuses PINs until its lockout time has passed";
    if (f & CKF_USER_PIN_FINAL_TRY)
        return "one more wrong PIN locks the TPM out";
    if (f & CKF_USER_PIN_COUNT_LOW)
        return "wrong PINs have been counted";
    return "no wrong PINs counted";
}

static void token_info_print(const struct token *tok)
{
    const CK_TOKEN_INFO *ti = &tok->info;

    if (ti->flags & CKF_TOKEN_INITIALIZED)
        printf("  %-18s \"%s\", serial %s\n", "token", tok->label, tok->serial);
    else
        printf("  %-18s none (tpmtok init creates one here)\n", "token");
    text_print("TPM vendor", ti->manufacturerID, sizeof ti->manufacturerID);
    text_print("TPM model", ti->model, sizeof ti->model);
    printf("  %-18s %u.%u\n", "TPM spec revision", ti->hardwareVersion.major,
           ti->hardwareVersion.minor);
    printf("  %-18s %u.%u\n", "TPM firmware", ti->firmwareVersion.major,
           ti->firmwareVersion.minor);
    printf("  %-18s %s\n", "dictionary attack", lockout_words(ti->flags));
    printf("  %-18s %lu to %lu bytes\n", "PIN length", (unsigned long)ti->ulMinPinLen,
           (unsigned long)ti->ulMaxPinLen);
    printf("  %-18s ", "flags");
    flags_print(stdout, ti->flags, token_flags, N_OF(token_flags));
}

static void mechanism_print(CK_MECHANISM_TYPE type, const CK_MECHANISM_INFO *mi)
{
    const char *name = mech_name(type), *unit = mech_size_unit(type);
    char sizes[48] = "";

    if (unit != NULL)
        snprintf(sizes, sizeof sizes, "%lu-%lu %s", (unsigned long)mi->ulMinKeySize,
                 (unsigned long)mi->ulMaxKeySize, unit);
    if (name != NULL)
        printf("  %-26s %-16s ", name, sizes);
    else
        printf("  0x%08lx%-16s %-16s ", (unsigned long)type, "", sizes);
    flags_print(stdout, mi->flags, mech_flags, N_OF(mech_flags));
}

static int mechanisms_print(struct tool *t, CK_SLOT_ID slot)
{
    CK_MECHANISM_TYPE *types = NULL;
    CK_MECHANISM_INFO mi;
    CK_ULONG n = 0;
    CK_RV rv;
    int ret = EXIT_OK;

    if ((rv = t->f->C_GetMechanismList(slot, NULL, &n)) != CKR_OK)
        return fail_rv("C_GetMechanismList", rv);
    if ((types = calloc(n > 0 ? n : 1, sizeof *types)) == NULL) {
        errorf("out of memory");
        return EXIT_PKCS11;
    }
    if ((rv = t->f->C_GetMechanismList(slot, types, &n)) != CKR_OK) {
        ret = fail_rv("C_GetMechanismList", rv);
        goto out;
    }
    printf("mechanisms of slot %lu (%lu):\n", (unsigned long)slot, (unsigned long)n);
    for (CK_ULONG i = 0; i < n; i++) {
        if ((rv = t->f->C_GetMechanismInfo(slot, types[i], &mi)) != CKR_OK) {
            ret = fail_rv("C_GetMechanismInfo", rv);
            goto out;
        }
        mechanism_print(types[i], &mi);
    }
out:
    free(types);
    return ret;
}

static int module_print(struct tool *t)
{
    CK_INFO info;
    CK_RV rv;

    if ((rv = t->f->C_GetInfo(&info)) != CKR_OK)
        return fail_rv("C_GetInfo", rv);
    printf("module: %s\n", t->module_path);
    text_print("manufacturer", info.manufacturerID, sizeof info.manufacturerID);
    text_print("description", info.libraryDescription, sizeof info.libraryDescription);
    printf("  %-18s %u.%u\n", "library version", info.libraryVersion.major,
           info.libraryVersion.minor);
    printf("  %-18s %u.%u\n", "PKCS#11 version", info.cryptokiVersion.major,
           info.cryptokiVersion.minor);
    store_print();
    return EXIT_OK;
}

int cmd_info(struct tool *t, const struct opts *o)
{
    struct token *toks = NULL, chosen;
    CK_SLOT_INFO si;
    size_t n;
    CK_RV rv;
    int ret;

    if ((ret = module_print(t)) != EXIT_OK)
        return ret;
    if (o->token != NULL) {
        if ((ret = token_select(t, o->token, NULL, &chosen)) != EXIT_OK)
            return ret;
        n = 1;
        toks = &chosen;
    } else if ((ret = token_list(t, &toks, &n)) != EXIT_OK) {
        return ret;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rv = t->f->C_GetSlotInfo(toks[i].slot, &si)) != CKR_OK) {
            ret = fail_rv("C_GetSlotInfo", rv);
            goto out;
        }
        printf("slot %lu: %.*s\n", (unsigned long)toks[i].slot,
               (int)padded_len(si.slotDescription, sizeof si.slotDescription),
               (const char *)si.slotDescription);
        token_info_print(&toks[i]);
    }
    /* Every slot is the same TPM, so one list says what all of them offer. */
    if (n > 0)
        ret = mechanisms_print(t, toks[0].slot);
out:
    if (toks != &chosen)
        free(toks);
    return ret;
}

/* ---- list */

static int objects_print(struct tool *t, const struct token *tok, CK_SESSION_HANDLE s)
{
    struct objrefs objs;
    int ret;

    if ((ret = objects_find(t, s, NULL, &objs)) != EXIT_OK)
        return ret;
    printf("  objects: %zu\n", objs.n);
    for (size_t i = 0; i < objs.n; i++)
        objref_print(stdout, tok->label, &objs.v[i]);
    objects_free(&objs);
    return EXIT_OK;
}

static int token_list_one(struct tool *t, const struct token *tok, const struct opts *o)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    bool login = pin_given(o->pin, o->pin_file);
    int ret;

    if (login)
        ret = session_open_login(t, tok, false, o->pin, o->pin_file, &s);
    else
        ret = session_open(t, tok, false, &s);
    if (ret != EXIT_OK)
        return ret;
    printf("token \"%s\" in slot %lu\n  serial: %s\n  flags:  ", tok->label,
           (unsigned long)tok->slot, tok->serial);
    flags_print(stdout, tok->info.flags, token_flags, N_OF(token_flags));
    if (!login)
        printf("  (public objects only: a PIN shows the private ones)\n");
    ret = objects_print(t, tok, s);
    t->f->C_CloseSession(s);
    return ret;
}

int cmd_list(struct tool *t, const struct opts *o)
{
    struct token *toks = NULL, chosen;
    size_t n = 0;
    int ret;

    /* A PIN belongs to one token, so it needs the token chosen. */
    if (o->token != NULL || pin_given(o->pin, o->pin_file)) {
        if ((ret = token_select(t, o->token, NULL, &chosen)) != EXIT_OK)
            return ret;
        return token_list_one(t, &chosen, o);
    }
    if ((ret = token_list(t, &toks, &n)) != EXIT_OK)
        return ret;
    for (size_t i = 0; i < n && ret == EXIT_OK; i++) {
        if (toks[i].info.flags & CKF_TOKEN_INITIALIZED)
            ret = token_list_one(t, &toks[i], o);
        else
            printf("slot %lu: empty (tpmtok init creates a token here)\n",
                   (unsigned long)toks[i].slot);
    }
    free(toks);
    return ret;
}

/* ---- init */

/* The slot whose token is not initialized (the module always keeps one). */
static int empty_slot(struct tool *t, CK_SLOT_ID *slot)
{
    struct token *toks;
    size_t n;
    int ret;

    if ((ret = token_list(t, &toks, &n)) != EXIT_OK)
        return ret;
    ret = EXIT_NOT_FOUND;
    for (size_t i = 0; i < n && ret != EXIT_OK; i++) {
        if (!(toks[i].info.flags & CKF_TOKEN_INITIALIZED)) {
            *slot = toks[i].slot;
            ret = EXIT_OK;
        }
    }
    free(toks);
    if (ret != EXIT_OK)
        errorf("init: no empty slot (is the store writable? TPMTOK_LOG=info says more)");
    return ret;
}

/* Logs in as the SO and sets the user PIN. EXIT_OK or EXIT_PKCS11. */
static int user_pin_set(struct tool *t, CK_SLOT_ID slot, const struct pin *so,
                        const struct pin *user)
{
    struct token tok = { .slot = slot };
    CK_SESSION_HANDLE s;
    CK_RV rv;
    int ret;

    if ((ret = session_open(t, &tok, true, &s)) != EXIT_OK)
        return ret;
    if ((ret = session_login(t, s, CKU_SO, so)) == EXIT_OK) {
        if ((rv = t->f->C_InitPIN(s, (CK_UTF8CHAR *)user->v, user->len)) != CKR_OK)
            ret = fail_rv("C_InitPIN", rv);
        t->f->C_Logout(s);
    }
    t->f->C_CloseSession(s);
    return ret;
}

/* Whether a token other than the one in slot `except` has the label. */
static int label_taken(struct tool *t, const char *label, CK_SLOT_ID except, bool *taken)
{
    struct token *toks;
    size_t n;
    int ret;

    *taken = false;
    if ((ret = token_list(t, &toks, &n)) != EXIT_OK)
        return ret;
    for (size_t i = 0; i < n; i++)
        if ((toks[i].info.flags & CKF_TOKEN_INITIALIZED) && toks[i].slot != except &&
            strcmp(toks[i].label, label) == 0)
            *taken = true;
    free(toks);
    return EXIT_OK;
}

/*
 * The slot init works on: the token --token names, else the empty slot. Labels stay unique,
 * since tokens are chosen by label.
 */
static int init_slot(struct tool *t, const struct opts *o, CK_SLOT_ID *slot)
{
    struct token tok = { .slot = (CK_SLOT_ID)-1 };
    bool taken;
    int ret;

    if (o->token != NULL && (ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK)
        return ret;
    if ((ret = label_taken(t, o->label, tok.slot, &taken)) != EXIT_OK)
        return ret;
    if (taken) {
        errorf("init: another token is labelled \"%s\" (--token %s initializes it again)",
               o->label, o->label);
        return EXIT_USAGE;
    }
    if (o->token == NULL)
        return empty_slot(t, slot);
    *slot = tok.slot;
    return EXIT_OK;
}

static int init_pins_read(const struct opts *o, struct pin *so, struct pin *user, bool *has_user)
{
    int ret;

    if ((ret = pin_read(o->so_pin, o->so_pin_file, "New SO PIN", true, so)) != EXIT_OK)
        return ret;
    *has_user = pin_given(o->pin, o->pin_file) || isatty(STDIN_FILENO);
    if (*has_user)
        ret = pin_read(o->pin, o->pin_file, "New user PIN", true, user);
    return ret;
}

int cmd_init(struct tool *t, const struct opts *o)
{
    struct pin so = { 0 }, user = { 0 };
    CK_UTF8CHAR label[32];
    CK_SLOT_ID slot;
    bool has_user = false;
    size_t n = o->label != NULL ? strlen(o->label) : 0;
    CK_RV rv;
    int ret;

    if (n == 0 || n > sizeof label) {
        errorf("init: --label of 1 to 32 bytes is required");
        return EXIT_USAGE;
    }
    if ((ret = init_slot(t, o, &slot)) != EXIT_OK ||
        (ret = init_pins_read(o, &so, &user, &has_user)) != EXIT_OK)
        goto out;
    memset(label, ' ', sizeof label);
    memcpy(label, o->label, n);
    if ((rv = t->f->C_InitToken(slot, (CK_UTF8CHAR *)so.v, so.len, label)) != CKR_OK) {
        ret = fail_rv("C_InitToken", rv);
        goto out;
    }
    if (has_user && (ret = user_pin_set(t, slot, &so, &user)) != EXIT_OK)
        goto out;
    printf("token \"%s\" in slot %lu%s\n", o->label, (unsigned long)slot,
           has_user ? "" : " (no user PIN yet: tpmtok passwd --so-pin sets it)");
out:
    pin_wipe(&so);
    pin_wipe(&user);
    return ret;
}

/* ---- passwd */

/* C_SetPIN in a session where who (the SO, or nobody for the user PIN) is logged in. */
static int pin_change(struct tool *t, CK_SESSION_HANDLE s, bool so, const struct opts *o)
{
    struct pin old = { 0 }, new = { 0 };
    CK_RV rv;
    int ret;

    if ((ret = pin_read(o->old_pin, o->old_pin_file, so ? "Current SO PIN" : "Current user PIN",
                        false, &old)) != EXIT_OK ||
        (ret = pin_read(o->new_pin, o->new_pin_file, so ? "New SO PIN" : "New user PIN", true,
                        &new)) != EXIT_OK)
        goto out;
    if (so && (ret = session_login(t, s, CKU_SO, &old)) != EXIT_OK)
        goto out;
    rv = t->f->C_SetPIN(s, (CK_UTF8CHAR *)old.v, old.len, (CK_UTF8CHAR *)new.v, new.len);
    if (rv != CKR_OK)
        ret = fail_rv("C_SetPIN", rv);
    if (so)
        t->f->C_Logout(s);
out:
    pin_wipe(&old);
    pin_wipe(&new);
    return ret;
}

/* The SO sets a new user PIN (C_InitPIN). */
static int pin_reset(struct tool *t, const struct token *tok, const struct opts *o)
{
    struct pin so = { 0 }, new = { 0 };
    int ret;

    if ((ret = pin_read(o->so_pin, o->so_pin_file, "SO PIN", false, &so)) == EXIT_OK &&
        (ret = pin_read(o->new_pin, o->new_pin_file, "New user PIN", true, &new)) == EXIT_OK)
        ret = user_pin_set(t, tok->slot, &so, &new);
    pin_wipe(&so);
    pin_wipe(&new);
    return ret;
}

int cmd_passwd(struct tool *t, const struct opts *o)
{
    CK_SESSION_HANDLE s;
    struct token tok;
    int ret;

    if (o->so && pin_given(o->so_pin, o->so_pin_file)) {
        errorf("passwd: --so changes the SO PIN (give it with --old-pin); --so-pin sets the user"
               " PIN: not both");
        return EXIT_USAGE;
    }
    if ((ret = token_select(t, o->token, NULL, &tok)) != EXIT_OK)
        return ret;
    if (pin_given(o->so_pin, o->so_pin_file)) {
        if (pin_given(o->old_pin, o->old_pin_file)) {
            errorf("passwd: --so-pin sets the user PIN without the old one: no --old-pin");
            return EXIT_USAGE;
        }
        ret = pin_reset(t, &tok, o);
    } else if ((ret = session_open(t, &tok, true, &s)) == EXIT_OK) {
        ret = pin_change(t, s, o->so, o);
        t->f->C_CloseSession(s);
    }
    if (ret == EXIT_OK)
        printf("%s PIN of \"%s\" changed\n", o->so ? "SO" : "user", tok.label);
    return ret;
}
