/* The attribute set: a sorted type -> bytes array, its template import and store encoding. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "token/attr.h"
#include "util/buf.h"
#include "util/secret.h"

/* More attributes than any object of any class can have; a larger count is a corrupt row. */
#define ATTRS_MAX_COUNT 4096

void attrs_init(struct attrs *s)
{
    s->a = NULL;
    s->n = 0;
    s->cap = 0;
}

void attrs_free(struct attrs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        secret_free(s->a[i].value, s->a[i].len);
    free(s->a);
    attrs_init(s);
}

/* Index of type, or where it would go (*found false). */
static size_t attrs_index(const struct attrs *s, CK_ATTRIBUTE_TYPE type, bool *found)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->a[mid].type == type) {
            *found = true;
            return mid;
        }
        if (s->a[mid].type < type)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const struct attr *attrs_find(const struct attrs *s, CK_ATTRIBUTE_TYPE type)
{
    bool found;
    size_t i = attrs_index(s, type, &found);

    return found ? &s->a[i] : NULL;
}

bool attrs_has(const struct attrs *s, CK_ATTRIBUTE_TYPE type)
{
    return attrs_find(s, type) != NULL;
}

static bool attrs_grow(struct attrs *s)
{
    size_t cap;
    struct attr *p;

    if (s->n < s->cap)
        return true;
    cap = s->cap ? s->cap * 2 : 16;
    if (cap > SIZE_MAX / sizeof *p)
        return false;
    p = realloc(s->a, cap * sizeof *p);
    if (p == NULL)
        return false;
    s->a = p;
    s->cap = cap;
    return true;
}

bool attrs_set(struct attrs *s, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
    bool found;
    size_t i = attrs_index(s, type, &found);
    uint8_t *copy = NULL;

    /* The copy is made first, so value may point into the attribute it replaces. */
    if (len != 0 && (copy = secret_dup(value, len)) == NULL)
        return false;
    if (found) {
        secret_free(s->a[i].value, s->a[i].len);
    } else {
        if (!attrs_grow(s)) {
            secret_free(copy, len);
            return false;
        }
        memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof *s->a);
        s->n++;
        s->a[i].type = type;
    }
    s->a[i].value = copy;
    s->a[i].len = len;
    return true;
}

bool attrs_set_bool(struct attrs *s, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

    return attrs_set(s, type, &b, sizeof b);
}

bool attrs_set_ulong(struct attrs *s, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return attrs_set(s, type, &v, sizeof v);
}

void attrs_remove(struct attrs *s, CK_ATTRIBUTE_TYPE type)
{
    bool found;
    size_t i = attrs_index(s, type, &found);

    if (!found)
        return;
    secret_free(s->a[i].value, s->a[i].len);
    memmove(&s->a[i], &s->a[i + 1], (s->n - i - 1) * sizeof *s->a);
    s->n--;
}

bool attrs_get_bool(const struct attrs *s, CK_ATTRIBUTE_TYPE type, bool dflt)
{
    const struct attr *a = attrs_find(s, type);

    if (a == NULL || a->len != sizeof(CK_BBOOL))
        return dflt;
    return a->value[0] != CK_FALSE;
}

bool attrs_get_ulong(const struct attrs *s, CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    const struct attr *a = attrs_find(s, type);

    if (a == NULL || a->len != sizeof(CK_ULONG))
        return false;
    memcpy(v, a->value, sizeof *v);
    return true;
}

bool attrs_copy(struct attrs *dst, const struct attrs *src)
{
    attrs_init(dst);
    if (src->n == 0)
        return true;
    dst->a = calloc(src->n, sizeof *dst->a);
    if (dst->a == NULL)
        return false;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        const struct attr *a = &src->a[i];
        uint8_t *copy = NULL;

        if (a->len != 0 && (copy = secret_dup(a->value, a->len)) == NULL) {
            attrs_free(dst);
            return false;
        }
        dst->a[i].type = a->type;
        dst->a[i].value = copy;
        dst->a[i].len = a->len;
        dst->n++;
    }
    return true;
}

static bool same_bytes(const struct attr *a, const void *value, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->value, value, len) == 0);
}

bool attrs_match(const struct attrs *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const struct attr *a = attrs_find(s, tmpl[i].type);

        if (a == NULL || (tmpl[i].pValue == NULL && tmpl[i].ulValueLen != 0))
            return false;
        if (!same_bytes(a, tmpl[i].pValue, tmpl[i].ulValueLen))
            return false;
    }
    return true;
}

/* Adds one template entry; a repeated type is fine only with the same bytes. */
static CK_RV from_template_one(const CK_ATTRIBUTE *t, struct attrs *out)
{
    const struct attr *prev;

    if (t->pValue == NULL && t->ulValueLen != 0)
        return CKR_ARGUMENTS_BAD;
    /* The store keeps u32 lengths; a longer one is also what CK_UNAVAILABLE_INFORMATION is. */
    if (t->ulValueLen > UINT32_MAX)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    prev = attrs_find(out, t->type);
    if (prev != NULL)
        return same_bytes(prev, t->pValue, t->ulValueLen) ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    return attrs_set(out, t->type, t->pValue, t->ulValueLen) ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV attrs_from_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct attrs *out)
{
    CK_RV rv = CKR_OK;

    attrs_init(out);
    if (tmpl == NULL && n != 0)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++) {
        if ((rv = from_template_one(&tmpl[i], out)) != CKR_OK)
            goto out;
    }
out:
    if (rv != CKR_OK)
        attrs_free(out);
    return rv;
}

size_t attrs_encoded_len(const struct attrs *s)
{
    size_t len = 4;

    for (size_t i = 0; i < s->n; i++)
        len += 8 + 4 + s->a[i].len;
    return len;
}

bool attrs_encode(const struct attrs *s, uint8_t **out, size_t *out_len)
{
    struct buf b;

    if (s->n > ATTRS_MAX_COUNT)
        return false;
    /* Values of private objects pass through here before the token layer encrypts them. */
    buf_init(&b, true);
    buf_put_u32(&b, (uint32_t)s->n);
    for (size_t i = 0; i < s->n; i++) {
        buf_put_u64(&b, s->a[i].type);
        buf_put_blob(&b, s->a[i].value, s->a[i].len);
    }
    *out = buf_steal(&b, out_len);
    return *out != NULL;
}

/* Appends one decoded attribute; the caller has checked that its type sorts last. */
static bool attrs_append(struct attrs *s, CK_ATTRIBUTE_TYPE type, const uint8_t *p, size_t n)
{
    uint8_t *copy = NULL;

    if (!attrs_grow(s))
        return false;
    if (n != 0 && (copy = secret_dup(p, n)) == NULL)
        return false;
    s->a[s->n].type = type;
    s->a[s->n].value = copy;
    s->a[s->n].len = n;
    s->n++;
    return true;
}

bool attrs_decode(const uint8_t *in, size_t len, struct attrs *out)
{
    struct rd r;
    uint32_t count;
    bool ok = false;

    attrs_init(out);
    rd_init(&r, in, len);
    if (!rd_u32(&r, &count) || count > ATTRS_MAX_COUNT)
        goto out;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t t;
        CK_ATTRIBUTE_TYPE type;
        const uint8_t *p;
        size_t n;

        if (!rd_u64(&r, &t) || !rd_blob(&r, UINT32_MAX, &p, &n))
            goto out;
        type = (CK_ATTRIBUTE_TYPE)t;
        /* A type that does not fit this ABI's CK_ULONG is not ours. */
        if ((uint64_t)type != t)
            goto out;
        if (out->n > 0 && type <= out->a[out->n - 1].type)
            goto out;
        if (!attrs_append(out, type, p, n))
            goto out;
    }
    ok = rd_done(&r);
out:
    if (!ok)
        attrs_free(out);
    return ok;
}
