/*
 * PKCS#11 URIs (RFC 7512). Parsing takes the path attributes that pick a token or an object and
 * ignores the query (PINs and module paths have options of their own). Printing percent-encodes
 * every byte outside RFC 3986's unreserved set, which any conforming parser accepts.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "names.h"
#include "uri.h"

#define SCHEME "pkcs11:"

bool uri_is(const char *s)
{
    return strncasecmp(s, SCHEME, strlen(SCHEME)) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes n bytes of a percent-encoded value into a malloc'ed, NUL-terminated buffer. */
static bool pct_decode(const char *s, size_t n, uint8_t **out, size_t *len)
{
    uint8_t *v = malloc(n + 1);
    size_t j = 0;
    int hi, lo;

    if (v == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            v[j++] = (uint8_t)s[i];
            continue;
        }
        if (n - i < 3 || (hi = hex_digit(s[i + 1])) < 0 || (lo = hex_digit(s[i + 2])) < 0) {
            free(v);
            return false;
        }
        v[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    v[j] = '\0';
    *out = v;
    *len = j;
    return true;
}

/* A text attribute: decoded, and refused if it holds a NUL byte. */
static bool text_value(const char *s, size_t n, char **out)
{
    uint8_t *v;
    size_t len;

    if (!pct_decode(s, n, &v, &len))
        return false;
    if (strlen((char *)v) != len) {
        free(v);
        return false;
    }
    *out = (char *)v;
    return true;
}

static bool name_is(const char *name, size_t len, const char *lit)
{
    return len == strlen(lit) && strncmp(name, lit, len) == 0;
}

/* The text attribute's field in u, or NULL if name is no text attribute. */
static char **text_field(struct uri *u, const char *name, size_t len)
{
    if (name_is(name, len, "token"))
        return &u->token;
    if (name_is(name, len, "serial"))
        return &u->serial;
    if (name_is(name, len, "manufacturer"))
        return &u->manufacturer;
    if (name_is(name, len, "model"))
        return &u->model;
    if (name_is(name, len, "object"))
        return &u->object;
    return NULL;
}

/* type=: the RFC's words only (not the CLI's --type shorthand "secret"). */
static bool take_type(struct uri *u, const char *v, size_t n)
{
    char *word = NULL;

    if (u->has_class || !text_value(v, n, &word))
        return false;
    u->has_class = strcmp(word, "secret") != 0 && class_from_word(word, &u->class);
    free(word);
    return u->has_class;
}

/* Slot and library attributes narrow nothing here (one module; tokens are chosen by token). */
static bool ignored_attr(const char *name, size_t len)
{
    static const char *const names[] = {
        "slot-description", "slot-manufacturer", "slot-id",
        "library-manufacturer", "library-description", "library-version",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name_is(name, len, names[i]))
            return true;
    return len > 2 && strncmp(name, "x-", 2) == 0;   /* vendor attributes */
}

/* Stores one name=value pair of the path. false if the value is bad or the name repeats. */
static bool take_attr(struct uri *u, const char *name, size_t len, const char *v, size_t n)
{
    char **text = text_field(u, name, len);

    if (text != NULL)
        return *text == NULL && text_value(v, n, text);
    if (name_is(name, len, "id")) {
        if (u->has_id || !pct_decode(v, n, &u->id, &u->id_len))
            return false;
        u->has_id = true;
        return true;
    }
    if (name_is(name, len, "type"))
        return take_type(u, v, n);
    return ignored_attr(name, len);
}

int uri_parse(const char *s, struct uri *u)
{
    const char *p, *end, *semi, *eq;

    memset(u, 0, sizeof *u);
    if (!uri_is(s)) {
        errorf("%s: not a PKCS#11 URI", s);
        return EXIT_USAGE;
    }
    p = s + strlen(SCHEME);
    end = p + strcspn(p, "?");
    while (p < end) {
        semi = memchr(p, ';', (size_t)(end - p));
        if (semi == NULL)
            semi = end;
        eq = memchr(p, '=', (size_t)(semi - p));
        if (eq == NULL || eq == p ||
            !take_attr(u, p, (size_t)(eq - p), eq + 1, (size_t)(semi - eq - 1))) {
            errorf("%s: bad or unknown attribute \"%.*s\"", s, (int)(semi - p), p);
            return EXIT_USAGE;
        }
        p = semi < end ? semi + 1 : end;
    }
    return EXIT_OK;
}

void uri_free(struct uri *u)
{
    free(u->token);
    free(u->serial);
    free(u->manufacturer);
    free(u->model);
    free(u->object);
    free(u->id);
    memset(u, 0, sizeof *u);
}

bool uri_names_token(const struct uri *u)
{
    return u->token != NULL || u->serial != NULL || u->manufacturer != NULL || u->model != NULL;
}

/* Whether want is the blank-padded field's text (NULL matches anything). */
static bool field_is(const char *want, const CK_UTF8CHAR *field, size_t size)
{
    size_t n = padded_len(field, size);

    return want == NULL || (strlen(want) == n && memcmp(want, field, n) == 0);
}

bool uri_matches_token(const struct uri *u, const CK_TOKEN_INFO *info)
{
    return field_is(u->token, info->label, sizeof info->label) &&
           field_is(u->serial, info->serialNumber, sizeof info->serialNumber) &&
           field_is(u->manufacturer, info->manufacturerID, sizeof info->manufacturerID) &&
           field_is(u->model, info->model, sizeof info->model);
}

/* Appends name=value, percent-encoding the value (all of it if all). */
static void put_attr(FILE *fp, bool *first, const char *name, const uint8_t *v, size_t n, bool all)
{
    fprintf(fp, "%s%s=", *first ? "" : ";", name);
    *first = false;
    for (size_t i = 0; i < n; i++) {
        if (!all && (isalnum(v[i]) || strchr("-._~", v[i]) != NULL) && v[i] != '\0')
            fputc(v[i], fp);
        else
            fprintf(fp, "%%%02X", v[i]);
    }
}

char *uri_for_object(const char *token_label, const uint8_t *label, size_t label_len,
                     const uint8_t *id, size_t id_len, CK_OBJECT_CLASS class)
{
    const char *type = class_uri_type(class);
    char *text = NULL;
    size_t size = 0;
    bool first = true;
    FILE *fp;

    if ((fp = open_memstream(&text, &size)) == NULL)
        return NULL;
    fputs(SCHEME, fp);
    put_attr(fp, &first, "token", (const uint8_t *)token_label, strlen(token_label), false);
    if (label_len > 0)
        put_attr(fp, &first, "object", label, label_len, false);
    if (id_len > 0)
        put_attr(fp, &first, "id", id, id_len, true);
    if (type != NULL)
        put_attr(fp, &first, "type", (const uint8_t *)type, strlen(type), false);
    if (fclose(fp) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
