/* Finding objects by label or PKCS#11 URI, reading their attributes, and printing their names. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "objects.h"
#include "uri.h"

#define FIND_BATCH 64

int attr_read(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
              uint8_t **out, size_t *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    CK_RV rv;

    *out = NULL;
    *len = 0;
    rv = t->f->C_GetAttributeValue(s, h, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return EXIT_NOT_FOUND;
    if (rv != CKR_OK)
        return fail_rv("C_GetAttributeValue", rv);
    if (a.ulValueLen == 0)
        return EXIT_OK;
    if ((a.pValue = malloc(a.ulValueLen)) == NULL) {
        errorf("out of memory");
        return EXIT_PKCS11;
    }
    if ((rv = t->f->C_GetAttributeValue(s, h, &a, 1)) != CKR_OK) {
        free(a.pValue);
        return fail_rv("C_GetAttributeValue", rv);
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return EXIT_OK;
}

static bool attr_ulong(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                       CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    CK_ATTRIBUTE a = { type, v, sizeof *v };

    return t->f->C_GetAttributeValue(s, h, &a, 1) == CKR_OK;
}

/* Fills what identifies the object. EXIT_OK or EXIT_PKCS11. */
static int objref_fill(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct objref *o)
{
    CK_RV rv;
    CK_ATTRIBUTE class = { CKA_CLASS, &o->class, sizeof o->class };
    int ret;

    o->h = h;
    o->subtype = CK_UNAVAILABLE_INFORMATION;
    if ((rv = t->f->C_GetAttributeValue(s, h, &class, 1)) != CKR_OK)
        return fail_rv("C_GetAttributeValue", rv);
    if (o->class == CKO_PUBLIC_KEY || o->class == CKO_PRIVATE_KEY || o->class == CKO_SECRET_KEY)
        attr_ulong(t, s, h, CKA_KEY_TYPE, &o->subtype);
    else if (o->class == CKO_CERTIFICATE)
        attr_ulong(t, s, h, CKA_CERTIFICATE_TYPE, &o->subtype);
    ret = attr_read(t, s, h, CKA_LABEL, &o->label, &o->label_len);
    if (ret == EXIT_OK || ret == EXIT_NOT_FOUND)
        ret = attr_read(t, s, h, CKA_ID, &o->id, &o->id_len);
    return ret == EXIT_NOT_FOUND ? EXIT_OK : ret;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a != NULL ? a : (const uint8_t *)"", b != NULL ? b : (const uint8_t *)"",
                   an < bn ? an : bn);

    return c != 0 ? c : (an > bn) - (an < bn);
}

static int objref_cmp(const void *pa, const void *pb)
{
    const struct objref *a = pa, *b = pb;
    int c = bytes_cmp(a->id, a->id_len, b->id, b->id_len);

    if (c == 0)
        c = (a->class > b->class) - (a->class < b->class);
    return c != 0 ? c : (a->h > b->h) - (a->h < b->h);
}

/* Collects the handles of a search already begun. EXIT_OK or EXIT_PKCS11. */
static int handles_collect(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE **out,
                           size_t *count)
{
    CK_OBJECT_HANDLE *v = NULL, *grown;
    CK_ULONG got;
    size_t n = 0;
    CK_RV rv;

    for (;;) {
        if ((grown = realloc(v, (n + FIND_BATCH) * sizeof *v)) == NULL) {
            free(v);
            errorf("out of memory");
            return EXIT_PKCS11;
        }
        v = grown;
        if ((rv = t->f->C_FindObjects(s, v + n, FIND_BATCH, &got)) != CKR_OK) {
            free(v);
            return fail_rv("C_FindObjects", rv);
        }
        n += got;
        if (got < FIND_BATCH)
            break;
    }
    *out = v;
    *count = n;
    return EXIT_OK;
}

int objects_find_template(struct tool *t, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                          struct objrefs *out)
{
    CK_OBJECT_HANDLE *handles = NULL;
    size_t count = 0;
    CK_RV rv;
    int ret;

    memset(out, 0, sizeof *out);
    if ((rv = t->f->C_FindObjectsInit(s, n > 0 ? tmpl : NULL, n)) != CKR_OK)
        return fail_rv("C_FindObjectsInit", rv);
    ret = handles_collect(t, s, &handles, &count);
    if ((rv = t->f->C_FindObjectsFinal(s)) != CKR_OK && ret == EXIT_OK)
        ret = fail_rv("C_FindObjectsFinal", rv);
    if (ret != EXIT_OK)
        goto out;
    if ((out->v = calloc(count > 0 ? count : 1, sizeof *out->v)) == NULL) {
        errorf("out of memory");
        ret = EXIT_PKCS11;
        goto out;
    }
    for (size_t i = 0; i < count && ret == EXIT_OK; i++, out->n++)
        ret = objref_fill(t, s, handles[i], &out->v[i]);
    if (ret == EXIT_OK)
        qsort(out->v, out->n, sizeof *out->v, objref_cmp);
    else
        objects_free(out);
out:
    free(handles);
    return ret;
}

int objects_find(struct tool *t, CK_SESSION_HANDLE s, const char *name, struct objrefs *out)
{
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG n = 0;
    struct uri u = { 0 };
    int ret;

    memset(out, 0, sizeof *out);
    if (name != NULL && uri_is(name)) {
        if ((ret = uri_parse(name, &u)) != EXIT_OK)
            goto out;
        if (u.object != NULL)
            tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, u.object, strlen(u.object) };
        if (u.has_id)
            tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, u.id, u.id_len };
        if (u.has_class)
            tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &u.class, sizeof u.class };
    } else if (name != NULL) {
        tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)name, strlen(name) };
    }
    ret = objects_find_template(t, s, tmpl, n, out);
out:
    uri_free(&u);
    return ret;
}

void objects_free(struct objrefs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].label);
        free(o->v[i].id);
    }
    free(o->v);
    memset(o, 0, sizeof *o);
}

char *objref_uri(const char *token_label, const struct objref *o)
{
    return uri_for_object(token_label, o->label, o->label_len, o->id, o->id_len, o->class);
}

static const char *subtype_words(const struct objref *o)
{
    const char *w = NULL;

    if (o->class == CKO_CERTIFICATE)
        w = o->subtype == CKC_X_509 ? "X.509" : NULL;
    else if (o->subtype != CK_UNAVAILABLE_INFORMATION)
        w = key_type_words(o->subtype);
    return w != NULL ? w : "-";
}

void objref_print(FILE *fp, const char *token_label, const struct objref *o)
{
    const char *class = class_words(o->class);
    char *uri = objref_uri(token_label, o);

    fprintf(fp, "  %-12s %-14s label=\"%.*s\" id=", class != NULL ? class : "other",
            subtype_words(o), (int)o->label_len, o->label != NULL ? (char *)o->label : "");
    if (o->id_len > 0)
        hex_print(fp, o->id, o->id_len);
    else
        fputs("-", fp);
    fprintf(fp, "  %s\n", uri != NULL ? uri : "(out of memory)");
    free(uri);
}
