/* PKCS#11 URIs (RFC 7512): the attributes the CLI selects tokens and objects by, and URIs to print. */
#ifndef TPMTOK_URI_H
#define TPMTOK_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"

/* A parsed URI's path attributes; a NULL string or a false has_* means "any". */
struct uri {
    char *token, *serial, *manufacturer, *model;   /* token attributes */
    char *object;                                  /* CKA_LABEL */
    uint8_t *id;                                   /* CKA_ID, id_len bytes */
    size_t id_len;
    bool has_id;
    CK_OBJECT_CLASS class;
    bool has_class;
};

/* Whether s is a PKCS#11 URI rather than a label (the scheme is case-insensitive). */
bool uri_is(const char *s);
/* Parses s into u (uri_free it even on failure). EXIT_OK or EXIT_USAGE (said on stderr). */
int uri_parse(const char *s, struct uri *u);
void uri_free(struct uri *u);
/* Whether the URI says which token. */
bool uri_names_token(const struct uri *u);
/* Whether a token's info matches the URI's token attributes. */
bool uri_matches_token(const struct uri *u, const CK_TOKEN_INFO *info);

/*
 * The URI of an object: pkcs11:token=T;object=L;id=%..;type=private, with what must be
 * percent-encoded so (object and id are left out when empty). malloc'ed, or NULL.
 */
char *uri_for_object(const char *token_label, const uint8_t *label, size_t label_len,
                     const uint8_t *id, size_t id_len, CK_OBJECT_CLASS class);

#endif
