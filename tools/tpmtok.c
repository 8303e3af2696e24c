/*
 * tpmtok: the command-line tool. It drives the module through its PKCS#11 interface only
 * (dlopen + C_GetFunctionList), so it exercises exactly what applications see. This file holds
 * the command table, the option parsing and the help texts; the commands live in cmd_*.c.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef TPMTOK_MODULE_PATH
#define TPMTOK_MODULE_PATH "libtpmtok.so"
#endif

/* The options a command accepts, as bits of its row in the command table. */
enum {
    O_TOKEN = 1u << 0,
    O_PIN = 1u << 1,        /* --pin, --pin-file */
    O_SO_PIN = 1u << 2,     /* --so-pin, --so-pin-file */
    O_OLD_PIN = 1u << 3,
    O_NEW_PIN = 1u << 4,
    O_LABEL = 1u << 5,
    O_ID = 1u << 6,
    O_TYPE = 1u << 7,
    O_FORMAT = 1u << 8,
    O_OUT = 1u << 9,
    O_RESUME_AT = 1u << 10,
    O_SO = 1u << 11,
    O_ALL = 1u << 12,
    O_MECHANISM = 1u << 13,
    O_POLICY = 1u << 14,    /* --pcrs, --pcr-values, --authority */
    O_KEY = 1u << 15,
};

enum operand { NO_OPERAND, OPERAND };

struct command {
    const char *name;       /* "policy sign": a command of two words */
    int (*run)(struct tool *t, const struct opts *o);
    unsigned opts;
    enum operand operand;
    const char *operand_name;
    const char *synopsis;   /* after "tpmtok [--module PATH] NAME " */
    const char *summary;
    const char *help;       /* what the command does and its options, for NAME --help */
};

#define PIN_HELP \
    "  --pin PIN, --pin-file FILE   the user PIN (a file holds it on its first line);\n" \
    "                               asked for without echo when standard input is a terminal\n"
#define PCR_HELP \
    "  --pcrs BANK:N,N...   bind the key to these PCRs (e.g. sha256:0,2,4,7): it is usable\n" \
    "                  only while they hold the values they have now (or --pcr-values)\n" \
    "  --pcr-values FILE    the values to bind to: binary, as tpm2_pcrread -o writes them,\n" \
    "                  or hex\n" \
    "  --authority FILE     instead, bind the key to PCR values this authority (a public or\n" \
    "                  private key file, EC P-256/P-384 or RSA) approves: tpmtok policy sign\n"
#define TOKEN_HELP \
    "  --token L       the token, by label or PKCS#11 URI (default: the only token)\n"

static const struct command commands[] = {
    { "info", cmd_info, O_TOKEN, NO_OPERAND, NULL, "[--token L]",
      "the module, the TPM behind it and its mechanisms",
      "Shows the module (C_GetInfo), each slot and token: TPM vendor, model, revision and\n"
      "firmware, flags including the dictionary-attack state of the TPM, the store path, and\n"
      "the mechanisms with their key sizes and uses.\n\n" TOKEN_HELP },
    { "list", cmd_list, O_TOKEN | O_PIN, NO_OPERAND, NULL, "[--token L] [--pin P | --pin-file F]",
      "the tokens and their objects with PKCS#11 URIs",
      "Lists the slots and tokens (label, serial, flags), then each token's objects, one per\n"
      "line: class, key type, label, id in hex and the object's PKCS#11 URI. Private objects\n"
      "are listed only with a PIN (given, it picks one token).\n\n" TOKEN_HELP PIN_HELP },
    { "init", cmd_init, O_TOKEN | O_LABEL | O_PIN | O_SO_PIN, NO_OPERAND, NULL,
      "--label L [--token T] [--so-pin P | --so-pin-file F] [--pin P | --pin-file F]",
      "create a token and set its PINs",
      "Creates a token labelled L in the empty slot (C_InitToken), or re-initializes the token\n"
      "named by --token (its objects are lost; its SO PIN is needed), then sets the user PIN\n"
      "(C_InitPIN). On a terminal, PINs not given are asked for twice; otherwise the SO PIN must\n"
      "be given, and without a user PIN the token gets none (tpmtok passwd --so-pin sets it).\n\n"
      "  --label L       the token's label, 1 to 32 bytes\n"
      "  --token T       re-initialize this token instead of using the empty slot\n"
      "  --so-pin PIN, --so-pin-file FILE   the SO PIN\n" PIN_HELP },
    { "passwd", cmd_passwd, O_TOKEN | O_SO | O_SO_PIN | O_OLD_PIN | O_NEW_PIN, NO_OPERAND, NULL,
      "[--token L] [--so | --so-pin P | --so-pin-file F] [--old-pin P | --old-pin-file F]\n"
      "        [--new-pin P | --new-pin-file F]",
      "change the user or SO PIN",
      "Changes the user PIN (C_SetPIN with the old PIN), the SO PIN with --so, or with --so-pin\n"
      "sets a new user PIN as the SO (C_InitPIN: for a token without one, or a forgotten one).\n\n"
      TOKEN_HELP
      "  --so            change the SO PIN (--old-pin is the current SO PIN)\n"
      "  --so-pin PIN, --so-pin-file FILE   log in as the SO and set the user PIN\n"
      "  --old-pin PIN, --old-pin-file FILE   the current PIN\n"
      "  --new-pin PIN, --new-pin-file FILE   the new PIN (asked twice on a terminal)\n" },
    { "keygen", cmd_keygen, O_TOKEN | O_PIN | O_TYPE | O_LABEL | O_ID | O_POLICY, NO_OPERAND,
      NULL,
      "--type TYPE --label K [--id HEX] [--token L] [--pin P | --pin-file F]\n"
      "        [--pcrs BANK:N,... [--pcr-values FILE] | --authority FILE]",
      "generate a key in the TPM",
      "Generates a key in the TPM and stores it on the token; prints the new objects' URIs\n"
      "(for a key pair: the private, then the public key, with the same label and id).\n\n"
      "  --type TYPE     rsa:2048, rsa:3072, ec:p256, ec:p384, ec:p521, aes:128, aes:192,\n"
      "                  aes:256, hmac:sha1, hmac:sha256, hmac:sha384 or hmac:sha512\n"
      "  --label K       the key's label\n"
      "  --id HEX        the key's CKA_ID (default: for a key pair the SHA-1 of the public key,\n"
      "                  as X.509 subject key identifiers are made; for a secret key 8 random bytes)\n"
      PCR_HELP TOKEN_HELP PIN_HELP },
    { "import", cmd_import, O_TOKEN | O_PIN | O_LABEL | O_ID, OPERAND, "FILE",
      "[--token L] [--label K] [--id HEX] [--pin P | --pin-file F] FILE",
      "bring a private key, public key or certificate onto the token",
      "Imports FILE, PEM or DER (detected): an RSA or EC private key (PKCS#8 or traditional,\n"
      "unencrypted) becomes a private key in the TPM plus its public key object; a public key\n"
      "(SubjectPublicKeyInfo) a public key object; an X.509 certificate a certificate object.\n"
      "Of a PEM file, the first block counts. Prints the new objects' URIs.\n\n"
      "  --label K       the label (default: a certificate's subject CN, else FILE's name\n"
      "                  without directory and extension)\n"
      "  --id HEX        the CKA_ID (default: the SHA-1 of the public key, so a certificate\n"
      "                  and its key get the same id)\n" TOKEN_HELP PIN_HELP },
    { "export", cmd_export, O_TOKEN | O_PIN | O_FORMAT | O_OUT, OPERAND, "OBJECT",
      "[--token L] [--format pem|ssh] [--out FILE] [--pin P | --pin-file F] OBJECT",
      "write a public key or certificate",
      "Writes OBJECT (a label or PKCS#11 URI) as PEM: a public key as SubjectPublicKeyInfo, a\n"
      "certificate as itself. A private key stands for its public key (same id). No login is\n"
      "needed for public objects; with a PIN, private objects are found too.\n\n"
      "  --format pem|ssh   PEM (default), or one OpenSSH public key line\n"
      "  --out FILE      write to FILE instead of standard output\n" TOKEN_HELP PIN_HELP },
    { "delete", cmd_delete, O_TOKEN | O_PIN | O_ALL, OPERAND, "OBJECT",
      "[--token L] [--all] [--pin P | --pin-file F] OBJECT",
      "delete objects",
      "Deletes the objects OBJECT (a label or PKCS#11 URI) names. A label, or a URI without\n"
      "type=, deletes both halves of a key pair (same id). Prints each deleted object's URI.\n\n"
      "  --all           delete even when the name matches objects of several ids\n"
      TOKEN_HELP PIN_HELP },
    { "digest", cmd_digest, O_TOKEN | O_MECHANISM | O_RESUME_AT, OPERAND, "FILE",
      "[--token L] [--mechanism sha256] [--resume-at N] FILE",
      "hash a file in the TPM",
      "Prints the digest of FILE (- for standard input) computed by the token (C_Digest*), as\n"
      "sha256sum does.\n\n"
      "  --mechanism M   sha1, sha256 (default), sha384 or sha512\n"
      "  --resume-at N   after N bytes, save the operation (C_GetOperationState), close the\n"
      "                  session, and continue in a new one (C_SetOperationState)\n" TOKEN_HELP },
    { "policy sign", cmd_policy_sign, O_POLICY | O_KEY | O_OUT, NO_OPERAND, NULL,
      "--key FILE --pcrs BANK:N,... --pcr-values FILE [--out FILE]",
      "approve PCR values for keys bound to an authority",
      "As the authority (its private key, EC P-256/P-384 or RSA, PEM or DER), approves PCR\n"
      "values: keys made with --authority and that key's public key become usable whenever the\n"
      "PCRs hold them, once the approval is on their token (tpmtok policy add). No token or TPM\n"
      "is needed: an authority may sign on another machine.\n\n"
      "  --key FILE      the authority's private key\n"
      "  --pcrs BANK:N,...   the PCRs (e.g. sha256:0,2,4,7)\n"
      "  --pcr-values FILE   their approved values: binary, as tpm2_pcrread -o writes them, or hex\n"
      "  --out FILE      write the approval to FILE instead of standard output\n" },
    { "policy add", cmd_policy_add, O_TOKEN | O_PIN | O_LABEL, OPERAND, "FILE",
      "[--token L] [--label K] [--pin P | --pin-file F] FILE",
      "store an authority's approval on a token",
      "Stores the approval FILE (from tpmtok policy sign) on the token as a public data object;\n"
      "the token's keys bound to that authority may be used whenever the PCRs hold the approved\n"
      "values. Older approvals stay, so a machine may boot either state until they are deleted.\n\n"
      "  --label K       the object's label (default: approved policy)\n" TOKEN_HELP PIN_HELP },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fputs("usage: tpmtok [--module PATH] COMMAND [OPTIONS] [OPERAND]\n\ncommands:\n", fp);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\noptions:\n"
          "  --module PATH   the PKCS#11 module (default: $TPMTOK_MODULE, else\n"
          "                  " TPMTOK_MODULE_PATH ")\n"
          "  --help          this text; tpmtok COMMAND --help says more of a command\n"
          "  --version       the version\n"
          "\nObjects and tokens are named by label or PKCS#11 URI (RFC 7512).\n"
          "Exit status: 0 done, 2 bad usage, 3 module not loadable, 4 a PKCS#11 call failed,\n"
          "5 no such token or object, 6 a file cannot be read, written or parsed.\n", fp);
}

static void command_help(FILE *fp, const struct command *c)
{
    fprintf(fp, "usage: tpmtok [--module PATH] %s %s\n\n%s\n%s", c->name, c->synopsis,
            c->summary, c->help);
}

/*
 * Long options: the first three are the tool's own; from the fourth on, row OPT_BASE + i
 * stores into opt_slots[i], so the two tables are kept in the same order.
 */
enum { OPT_MODULE = 1, OPT_HELP, OPT_VERSION, OPT_BASE = 0x100 };

static const struct option long_opts[] = {
    { "module", required_argument, NULL, OPT_MODULE },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { "token", required_argument, NULL, OPT_BASE + 0 },
    { "pin", required_argument, NULL, OPT_BASE + 1 },
    { "pin-file", required_argument, NULL, OPT_BASE + 2 },
    { "so-pin", required_argument, NULL, OPT_BASE + 3 },
    { "so-pin-file", required_argument, NULL, OPT_BASE + 4 },
    { "old-pin", required_argument, NULL, OPT_BASE + 5 },
    { "old-pin-file", required_argument, NULL, OPT_BASE + 6 },
    { "new-pin", required_argument, NULL, OPT_BASE + 7 },
    { "new-pin-file", required_argument, NULL, OPT_BASE + 8 },
    { "label", required_argument, NULL, OPT_BASE + 9 },
    { "id", required_argument, NULL, OPT_BASE + 10 },
    { "type", required_argument, NULL, OPT_BASE + 11 },
    { "format", required_argument, NULL, OPT_BASE + 12 },
    { "out", required_argument, NULL, OPT_BASE + 13 },
    { "resume-at", required_argument, NULL, OPT_BASE + 14 },
    { "so", no_argument, NULL, OPT_BASE + 15 },
    { "all", no_argument, NULL, OPT_BASE + 16 },
    { "mechanism", required_argument, NULL, OPT_BASE + 17 },
    { "pcrs", required_argument, NULL, OPT_BASE + 18 },
    { "pcr-values", required_argument, NULL, OPT_BASE + 19 },
    { "authority", required_argument, NULL, OPT_BASE + 20 },
    { "key", required_argument, NULL, OPT_BASE + 21 },
    { NULL, 0, NULL, 0 },
};

/* Where each option goes in struct opts, and the command-table bit that allows it. */
struct opt_slot {
    unsigned bit;
    size_t offset;          /* of the field in struct opts */
    bool flag;              /* the field is a bool set by the option, else a const char * */
};

static const struct opt_slot opt_slots[] = {
    { O_TOKEN, offsetof(struct opts, token), false },
    { O_PIN, offsetof(struct opts, pin), false },
    { O_PIN, offsetof(struct opts, pin_file), false },
    { O_SO_PIN, offsetof(struct opts, so_pin), false },
    { O_SO_PIN, offsetof(struct opts, so_pin_file), false },
    { O_OLD_PIN, offsetof(struct opts, old_pin), false },
    { O_OLD_PIN, offsetof(struct opts, old_pin_file), false },
    { O_NEW_PIN, offsetof(struct opts, new_pin), false },
    { O_NEW_PIN, offsetof(struct opts, new_pin_file), false },
    { O_LABEL, offsetof(struct opts, label), false },
    { O_ID, offsetof(struct opts, id), false },
    { O_TYPE, offsetof(struct opts, type), false },
    { O_FORMAT, offsetof(struct opts, format), false },
    { O_OUT, offsetof(struct opts, out), false },
    { O_RESUME_AT, offsetof(struct opts, resume_at), false },
    { O_SO, offsetof(struct opts, so), true },
    { O_ALL, offsetof(struct opts, all), true },
    { O_MECHANISM, offsetof(struct opts, mechanism), false },
    { O_POLICY, offsetof(struct opts, pcrs), false },
    { O_POLICY, offsetof(struct opts, pcr_values), false },
    { O_POLICY, offsetof(struct opts, authority), false },
    { O_KEY, offsetof(struct opts, key), false },
};

_Static_assert(sizeof long_opts / sizeof long_opts[0] == 3 + sizeof opt_slots /
               sizeof opt_slots[0] + 1, "long_opts and opt_slots are out of step");

/* Stores one command option; EXIT_USAGE if the command takes no such option or it repeats. */
static int opt_store(const struct command *c, int index, const char *value, struct opts *o)
{
    const struct opt_slot *slot = &opt_slots[index];
    char *field = (char *)o + slot->offset;
    const char *name = long_opts[3 + index].name;

    if (!(c->opts & slot->bit)) {
        errorf("%s: --%s does not apply (tpmtok %s --help)", c->name, name, c->name);
        return EXIT_USAGE;
    }
    if (slot->flag) {
        *(bool *)(void *)field = true;
        return EXIT_OK;
    }
    if (*(const char **)(void *)field != NULL) {
        errorf("%s: --%s given twice", c->name, name);
        return EXIT_USAGE;
    }
    *(const char **)(void *)field = value;
    return EXIT_OK;
}

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The command argv[optind] (and for "policy", the next word) names; NULL when none (said). */
static const struct command *command_of(int argc, char **argv)
{
    const struct command *c;
    char two[64];

    if (strcmp(argv[optind], "policy") == 0) {
        if (optind + 1 >= argc || strlen(argv[optind + 1]) > 32) {
            errorf("policy: sign or add? (tpmtok --help)");
            return NULL;
        }
        snprintf(two, sizeof two, "policy %s", argv[optind + 1]);
        if ((c = command_find(two)) == NULL)
            errorf("unknown command \"%s\" (tpmtok --help lists them)", two);
        return c;
    }
    if ((c = command_find(argv[optind])) == NULL)
        errorf("unknown command \"%s\" (tpmtok --help lists them)", argv[optind]);
    return c;
}

/* The options before the command: --module, --help, --version. -1 to go on, else the exit. */
static int parse_global(int argc, char **argv, struct tool *t)
{
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_MODULE:
            t->module_path = optarg;
            break;
        case OPT_HELP:
            usage(stdout);
            return EXIT_OK;
        case OPT_VERSION:
            printf("tpmtok %s\n", PACKAGE_VERSION);
            return EXIT_OK;
        default:
            errorf("%s: unknown option, missing value, or an option of a command given before it"
                   " (tpmtok --help)", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    return -1;
}

/*
 * The command's options and operand (argv[0] is the command's name). -1 to go on, else the
 * exit status (after --help, or a usage error).
 */
static int parse_command(const struct command *c, int argc, char **argv, struct tool *t,
                         struct opts *o)
{
    int ch, ret;

    optind = 0;   /* GNU getopt: start over on the new vector */
    while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (ch == OPT_MODULE) {
            t->module_path = optarg;
        } else if (ch == OPT_HELP) {
            command_help(stdout, c);
            return EXIT_OK;
        } else if (ch >= OPT_BASE) {
            if ((ret = opt_store(c, ch - OPT_BASE, optarg, o)) != EXIT_OK)
                return ret;
        } else {
            errorf("%s: unknown option or missing value: %s (tpmtok %s --help)", c->name,
                   argv[optind - 1], c->name);
            return EXIT_USAGE;
        }
    }
    if (c->operand == OPERAND && optind < argc)
        o->arg = argv[optind++];
    if (c->operand == OPERAND && o->arg == NULL) {
        errorf("%s: %s is missing (tpmtok %s --help)", c->name, c->operand_name, c->name);
        return EXIT_USAGE;
    }
    if (optind < argc) {
        errorf("%s: unexpected argument \"%s\" (tpmtok %s --help)", c->name, argv[optind],
               c->name);
        return EXIT_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct tool t = { .module_path = getenv("TPMTOK_MODULE") };
    struct opts o = { 0 };
    const struct command *c;
    int ret;

    if (t.module_path == NULL || t.module_path[0] == '\0')
        t.module_path = TPMTOK_MODULE_PATH;
    if ((ret = parse_global(argc, argv, &t)) >= 0)
        return ret;
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((c = command_of(argc, argv)) == NULL)
        return EXIT_USAGE;
    /* A two-word command's second word is its name's; getopt sees the rest. */
    if (strchr(c->name, ' ') != NULL)
        optind++;
    if ((ret = parse_command(c, argc - optind, argv + optind, &t, &o)) >= 0)
        return ret;
    /* Signing an approval is the authority's business: no module, no TPM. */
    if (c->run == cmd_policy_sign)
        return c->run(&t, &o);
    if ((ret = tool_open(&t)) == EXIT_OK)
        ret = c->run(&t, &o);
    tool_close(&t);
    return ret;
}
