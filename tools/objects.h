/* Objects on a token as the CLI sees them: found by label or PKCS#11 URI, with their names. */
#ifndef TPMTOK_OBJECTS_H
#define TPMTOK_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* What identifies an object to a user; subtype is the key or certificate type, if any. */
struct objref {
    CK_OBJECT_HANDLE h;
    CK_OBJECT_CLASS class;
    CK_ULONG subtype;        /* CK_UNAVAILABLE_INFORMATION when the class has none */
    uint8_t *label, *id;     /* NULL when empty */
    size_t label_len, id_len;
};

struct objrefs {
    struct objref *v;
    size_t n;
};

/*
 * Finds the objects the name picks: a label, or a PKCS#11 URI's object, id and type
 * attributes (NULL picks every object the session sees). The result is sorted by id, then class.
 * EXIT_OK, EXIT_USAGE (a bad URI) or EXIT_PKCS11.
 */
int objects_find(struct tool *t, CK_SESSION_HANDLE s, const char *name, struct objrefs *out);
/* The same for a template of the caller's. EXIT_OK or EXIT_PKCS11. */
int objects_find_template(struct tool *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                          struct objrefs *out);
void objects_free(struct objrefs *o);

/*
 * Reads one attribute into a malloc'ed buffer (NULL and 0 when empty). EXIT_OK, EXIT_NOT_FOUND
 * when the object has no such attribute or keeps it secret, or EXIT_PKCS11 (said on stderr).
 */
int attr_read(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
              uint8_t **out, size_t *len);

/* The object's PKCS#11 URI on the token with this label; malloc'ed, or NULL. */
char *objref_uri(const char *token_label, const struct objref *o);
/* One line: class, key type, label, id and URI, as tpmtok list prints it. */
void objref_print(FILE *fp, const char *token_label, const struct objref *o);

#endif
