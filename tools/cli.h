/* The CLI's shared parts: exit codes, options, the loaded module, token and session choice, PINs. */
#ifndef TPMTOK_CLI_H
#define TPMTOK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "p11.h"

/* Exit codes (documented in tpmtok(1); scripts and the interop tests rely on them). */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,
    EXIT_MODULE = 3,      /* the module cannot be loaded or initialized */
    EXIT_PKCS11 = 4,      /* a PKCS#11 call failed */
    EXIT_NOT_FOUND = 5,   /* no such token or object */
    EXIT_FILE = 6,        /* a file cannot be read, written or parsed */
};

/* Every option a command may take; which ones it accepts is in its row of the command table. */
struct opts {
    const char *token;
    const char *pin, *pin_file;
    const char *so_pin, *so_pin_file;
    const char *old_pin, *old_pin_file;
    const char *new_pin, *new_pin_file;
    const char *label, *id, *type, *format, *out, *resume_at, *mechanism;
    const char *pcrs, *pcr_values, *authority, *key;   /* keys bound to PCRs */
    bool so, all;
    const char *arg;      /* the one operand (FILE or OBJECT), for the commands that take one */
};

struct tool {
    const char *module_path;
    void *dl;
    CK_FUNCTION_LIST *f;
};

/* The token a command works on, with its label and serial without the blank padding. */
struct token {
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    char label[sizeof ((CK_TOKEN_INFO *)0)->label + 1];
    char serial[sizeof ((CK_TOKEN_INFO *)0)->serialNumber + 1];
};

/* PINs live here only, and are wiped with pin_wipe. The module has its own, smaller limits. */
#define PIN_MAX 255
struct pin {
    char v[PIN_MAX + 2];  /* room for a newline from fgets, to tell a too-long line apart */
    size_t len;
};

/* ---- messages: one line on stderr, "tpmtok: ..." */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a failed PKCS#11 call as "tpmtok: CALL: CKR_NAME (words)"; returns EXIT_PKCS11. */
int fail_rv(const char *call, CK_RV rv);

/* ---- the module */
/* Loads and initializes the module: EXIT_OK or EXIT_MODULE (said on stderr). */
int tool_open(struct tool *t);
/* Finalizes and unloads; safe after a failed tool_open. */
void tool_close(struct tool *t);

/* ---- tokens and sessions */
/* Every slot's token (initialized or not), malloc'ed. EXIT_OK or EXIT_PKCS11. */
int token_list(struct tool *t, struct token **out, size_t *count);
/*
 * Chooses the token: spec is a label or a PKCS#11 URI (its token attributes count); without one,
 * the token attributes of object_uri (may be NULL), else the only initialized token.
 * EXIT_OK, EXIT_USAGE (a bad URI, or a choice is needed), EXIT_NOT_FOUND, EXIT_PKCS11.
 */
int token_select(struct tool *t, const char *spec, const char *object_uri, struct token *out);
/* Opens a session (read-write if rw). EXIT_OK or EXIT_PKCS11. */
int session_open(struct tool *t, const struct token *tok, bool rw, CK_SESSION_HANDLE *s);
/* Logs in as who with the PIN; already logged in counts as done. EXIT_OK or EXIT_PKCS11. */
int session_login(struct tool *t, CK_SESSION_HANDLE s, CK_USER_TYPE who, const struct pin *pin);
/*
 * Reads the user PIN (pin_read), opens a session and logs in; the PIN is wiped before return.
 * EXIT_OK, EXIT_USAGE, EXIT_FILE or EXIT_PKCS11 (no session is left open on failure).
 */
int session_open_login(struct tool *t, const struct token *tok, bool rw, const char *pin_value,
                       const char *pin_file, CK_SESSION_HANDLE *s);

/* ---- PINs */
/* Whether the user gave a PIN as an option or a file (so a command that may log in, does). */
bool pin_given(const char *value, const char *file);
/*
 * The PIN from value, else the first line of file, else asked for without echo when standard
 * input is a terminal (twice if confirm). EXIT_OK, EXIT_USAGE (none to be had), EXIT_FILE.
 */
int pin_read(const char *value, const char *file, const char *prompt, bool confirm,
             struct pin *out);
void pin_wipe(struct pin *p);

/* ---- small helpers */
/* Parses hex ("0a1b", colons allowed between bytes) into a malloc'ed buffer; false if bad. */
bool hex_parse(const char *s, uint8_t **out, size_t *len);
/* Parses the --id option of cmd (NULL, 0 when hex is NULL); malloc'ed. EXIT_OK or EXIT_USAGE. */
int id_option(const char *cmd, const char *hex, uint8_t **id, size_t *len);
/* Prints n bytes as lowercase hex to fp. */
void hex_print(FILE *fp, const uint8_t *v, size_t n);
/* Reads a whole file ("-" is standard input), at most max bytes. EXIT_OK or EXIT_FILE. */
int file_read(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes text to path, or to standard output if path is NULL. EXIT_OK or EXIT_FILE. */
int file_write(const char *path, const char *text);
/* The length of a blank-padded PKCS#11 string without its padding. */
size_t padded_len(const CK_UTF8CHAR *s, size_t n);

/* ---- the commands (each parses nothing: its options are in o) */
int cmd_info(struct tool *t, const struct opts *o);
int cmd_list(struct tool *t, const struct opts *o);
int cmd_init(struct tool *t, const struct opts *o);
int cmd_passwd(struct tool *t, const struct opts *o);
int cmd_keygen(struct tool *t, const struct opts *o);
int cmd_import(struct tool *t, const struct opts *o);
int cmd_export(struct tool *t, const struct opts *o);
int cmd_delete(struct tool *t, const struct opts *o);
int cmd_digest(struct tool *t, const struct opts *o);
int cmd_policy_sign(struct tool *t, const struct opts *o);
int cmd_policy_add(struct tool *t, const struct opts *o);

/* ---- keys bound to PCRs (cmd_policy.c) */
#include "tpmtok.h"
struct policy_bufs {
    CK_TPMTOK_PCR_SELECTION sel;
    uint8_t *values;
    uint8_t *spki;
    size_t spki_len;
};
/*
 * Appends to out (room for 2 more) the attributes --pcrs, --pcr-values and --authority ask
 * for, held in b (policy_bufs_free it). EXIT_OK, EXIT_USAGE, EXIT_FILE (said).
 */
int policy_attrs(const struct opts *o, CK_ATTRIBUTE *out, CK_ULONG *n, struct policy_bufs *b);
void policy_bufs_free(struct policy_bufs *b);

#endif
