/*
 * tpmtok: the command-line tool. It drives the module through its PKCS#11 interface only
 * (dlopen + C_GetFunctionList), so it exercises exactly what applications see.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "p11.h"

#ifndef TPMTOK_MODULE_PATH
#define TPMTOK_MODULE_PATH "libtpmtok.so"
#endif

/* Exit codes (documented in tpmtok(1)). */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,
    EXIT_MODULE = 3,      /* the module cannot be loaded or initialized */
    EXIT_PKCS11 = 4,      /* a PKCS#11 call failed */
    EXIT_NOT_FOUND = 5,   /* no such token */
};

struct tool {
    const char *module_path;
    void *dl;
    CK_FUNCTION_LIST *f;
};

static const char *rv_text(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT (wrong PIN)";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED (the TPM is locked out after wrong PINs)";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE (PIN too short or too long)";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR (TPM or store failure; TPMTOK_LOG=info says more)";
    case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED (the store is read-only)";
    case CKR_SESSION_EXISTS: return "CKR_SESSION_EXISTS (the token is in use)";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY (out of memory)";
    default: return NULL;
    }
}

static int fail(const char *what, CK_RV rv)
{
    const char *text = rv_text(rv);

    if (text)
        fprintf(stderr, "tpmtok: %s failed: %s\n", what, text);
    else
        fprintf(stderr, "tpmtok: %s failed: CK_RV 0x%08lx\n", what, (unsigned long)rv);
    return EXIT_PKCS11;
}

static int tool_open(struct tool *t)
{
    CK_C_GetFunctionList get;
    CK_RV rv;

    if ((t->dl = dlopen(t->module_path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "tpmtok: cannot load %s: %s\n", t->module_path, dlerror());
        return EXIT_MODULE;
    }
    get = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList");
    if (get == NULL || get(&t->f) != CKR_OK) {
        fprintf(stderr, "tpmtok: %s is not a PKCS#11 module\n", t->module_path);
        return EXIT_MODULE;
    }
    if ((rv = t->f->C_Initialize(NULL)) != CKR_OK) {
        fail("C_Initialize", rv);
        return EXIT_MODULE;
    }
    return EXIT_OK;
}

static void tool_close(struct tool *t)
{
    if (t->f)
        t->f->C_Finalize(NULL);
    if (t->dl)
        dlclose(t->dl);
}

static void print_padded(const char *name, const CK_UTF8CHAR *s, size_t n)
{
    while (n > 0 && s[n - 1] == ' ')
        n--;
    printf("  %-14s %.*s\n", name, (int)n, (const char *)s);
}

/* Reads a PIN from a file's first line, or prompts without echo on a terminal. */
static int read_pin(const char *file, const char *prompt, char *pin, size_t size)
{
    FILE *fp = NULL;
    struct termios old, quiet;
    int tty = 0;
    size_t n;

    if (file != NULL) {
        if ((fp = fopen(file, "r")) == NULL) {
            fprintf(stderr, "tpmtok: %s: %s\n", file, strerror(errno));
            return -1;
        }
    } else if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "%s: ", prompt);
        tty = tcgetattr(STDIN_FILENO, &old) == 0;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        if (tty)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    } else {
        fprintf(stderr, "tpmtok: %s: give it as an option or a file, or run on a terminal\n",
                prompt);
        return -1;
    }
    if (fgets(pin, (int)size, fp ? fp : stdin) == NULL)
        pin[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (fp)
        fclose(fp);
    n = strcspn(pin, "\r\n");
    pin[n] = '\0';
    return n > 0 ? 0 : -1;
}

static int cmd_info(struct tool *t)
{
    CK_INFO info;
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256;
    CK_RV rv;

    if ((rv = t->f->C_GetInfo(&info)) != CKR_OK)
        return fail("C_GetInfo", rv);
    printf("module %s: PKCS#11 %u.%u, library %u.%u\n", t->module_path,
           info.cryptokiVersion.major, info.cryptokiVersion.minor,
           info.libraryVersion.major, info.libraryVersion.minor);
    if ((rv = t->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return fail("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if ((rv = t->f->C_GetTokenInfo(slots[i], &ti)) != CKR_OK)
            return fail("C_GetTokenInfo", rv);
        printf("slot %lu:\n", (unsigned long)slots[i]);
        print_padded("TPM vendor", ti.manufacturerID, sizeof ti.manufacturerID);
        print_padded("TPM model", ti.model, sizeof ti.model);
        printf("  %-14s %u.%u\n", "TPM firmware", ti.firmwareVersion.major,
               ti.firmwareVersion.minor);
        printf("  %-14s %s\n", "lockout", (ti.flags & CKF_USER_PIN_LOCKED) ? "locked out" :
               (ti.flags & CKF_USER_PIN_COUNT_LOW) ? "wrong PINs counted" : "clear");
        break;   /* every slot is on the same TPM */
    }
    return EXIT_OK;
}

static int cmd_list(struct tool *t)
{
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256;
    CK_RV rv;

    if ((rv = t->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return fail("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if ((rv = t->f->C_GetTokenInfo(slots[i], &ti)) != CKR_OK)
            return fail("C_GetTokenInfo", rv);
        printf("slot %lu: %s\n", (unsigned long)slots[i],
               (ti.flags & CKF_TOKEN_INITIALIZED) ? "token" : "empty (tpmtok init creates a token here)");
        if (!(ti.flags & CKF_TOKEN_INITIALIZED))
            continue;
        print_padded("label", ti.label, sizeof ti.label);
        print_padded("serial", ti.serialNumber, sizeof ti.serialNumber);
        printf("  %-14s %s\n", "user PIN", (ti.flags & CKF_USER_PIN_INITIALIZED) ? "set" : "not set");
    }
    return EXIT_OK;
}

static CK_SLOT_ID empty_slot(struct tool *t)
{
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256;
    CK_TOKEN_INFO ti;

    if (t->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return (CK_SLOT_ID)-1;
    for (CK_ULONG i = 0; i < n; i++)
        if (t->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED))
            return slots[i];
    return (CK_SLOT_ID)-1;
}

struct init_opts {
    const char *label, *so_pin, *pin, *so_pin_file, *pin_file;
};

static int set_user_pin(struct tool *t, CK_SLOT_ID slot, const char *so_pin, const char *pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if ((rv = t->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)))
        return fail("C_OpenSession", rv);
    if ((rv = t->f->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin))) == CKR_OK)
        rv = t->f->C_InitPIN(s, (CK_UTF8CHAR *)pin, strlen(pin));
    t->f->C_CloseSession(s);
    return rv == CKR_OK ? EXIT_OK : fail("setting the user PIN", rv);
}

static int cmd_init(struct tool *t, const struct init_opts *o)
{
    char so_pin[256], pin[256];
    CK_UTF8CHAR label[32];
    CK_SLOT_ID slot;
    size_t n;
    CK_RV rv;
    int ret;

    if (o->label == NULL || (n = strlen(o->label)) == 0 || n > 32) {
        fprintf(stderr, "tpmtok init: --label of 1 to 32 bytes is required\n");
        return EXIT_USAGE;
    }
    if (o->so_pin)
        snprintf(so_pin, sizeof so_pin, "%s", o->so_pin);
    else if (read_pin(o->so_pin_file, "SO PIN", so_pin, sizeof so_pin) != 0)
        return EXIT_USAGE;
    if (o->pin)
        snprintf(pin, sizeof pin, "%s", o->pin);
    else if (read_pin(o->pin_file, "user PIN", pin, sizeof pin) != 0)
        return EXIT_USAGE;
    if ((slot = empty_slot(t)) == (CK_SLOT_ID)-1) {
        fprintf(stderr, "tpmtok init: no empty slot (is the store usable?)\n");
        return EXIT_NOT_FOUND;
    }
    memset(label, ' ', sizeof label);
    memcpy(label, o->label, n);
    if ((rv = t->f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), label)) != CKR_OK)
        ret = fail("C_InitToken", rv);
    else
        ret = set_user_pin(t, slot, so_pin, pin);
    if (ret == EXIT_OK)
        printf("created token \"%s\" in slot %lu\n", o->label, (unsigned long)slot);
    explicit_bzero(so_pin, sizeof so_pin);
    explicit_bzero(pin, sizeof pin);
    return ret;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: tpmtok [--module PATH] COMMAND [OPTIONS]\n"
            "commands:\n"
            "  info                    the module and the TPM behind it\n"
            "  list                    the slots and their tokens\n"
            "  init --label L [--so-pin P | --so-pin-file F] [--pin P | --pin-file F]\n"
            "                          create a token in the empty slot and set its PINs\n"
            "options:\n"
            "  --module PATH           the PKCS#11 module (default " TPMTOK_MODULE_PATH ")\n"
            "  --help, --version\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "module", required_argument, NULL, 'm' }, { "label", required_argument, NULL, 'l' },
        { "so-pin", required_argument, NULL, 's' }, { "pin", required_argument, NULL, 'p' },
        { "so-pin-file", required_argument, NULL, 'S' }, { "pin-file", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct tool t = { .module_path = getenv("TPMTOK_MODULE") };
    struct init_opts io = { 0 };
    const char *cmd;
    int c, ret;

    if (t.module_path == NULL)
        t.module_path = TPMTOK_MODULE_PATH;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'm': t.module_path = optarg; break;
        case 'l': io.label = optarg; break;
        case 's': io.so_pin = optarg; break;
        case 'p': io.pin = optarg; break;
        case 'S': io.so_pin_file = optarg; break;
        case 'P': io.pin_file = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("tpmtok %s\n", PACKAGE_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind++];
    /* Options may also follow the command. */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': t.module_path = optarg; break;
        case 'l': io.label = optarg; break;
        case 's': io.so_pin = optarg; break;
        case 'p': io.pin = optarg; break;
        case 'S': io.so_pin_file = optarg; break;
        case 'P': io.pin_file = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(cmd, "info") && strcmp(cmd, "list") && strcmp(cmd, "init")) {
        fprintf(stderr, "tpmtok: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((ret = tool_open(&t)) != EXIT_OK) {
        tool_close(&t);
        return ret;
    }
    if (strcmp(cmd, "info") == 0)
        ret = cmd_info(&t);
    else if (strcmp(cmd, "list") == 0)
        ret = cmd_list(&t);
    else
        ret = cmd_init(&t, &io);
    tool_close(&t);
    return ret;
}
