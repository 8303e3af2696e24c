/*
 * token/attr: a set of PKCS#11 attributes (type -> bytes) as the token keeps it, and its
 * compact encoding for the store. CK_ULONG and CK_BBOOL values are kept as the application's
 * ABI lays them out (sizeof(CK_ULONG), 1 byte), so templates compare byte for byte.
 */
#ifndef TPMTOK_ATTR_H
#define TPMTOK_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"

struct attr {
    CK_ATTRIBUTE_TYPE type;
    uint8_t *value;        /* malloc'ed (NULL when len is 0); wiped when freed */
    size_t len;
};

/* Sorted by type, at most one of each. */
struct attrs {
    struct attr *a;
    size_t n;
    size_t cap;
};

void attrs_init(struct attrs *s);
/* Wipes and frees every value. */
void attrs_free(struct attrs *s);
const struct attr *attrs_find(const struct attrs *s, CK_ATTRIBUTE_TYPE type);
bool attrs_has(const struct attrs *s, CK_ATTRIBUTE_TYPE type);
/* Adds or replaces. false when out of memory. */
bool attrs_set(struct attrs *s, CK_ATTRIBUTE_TYPE type, const void *value, size_t len);
bool attrs_set_bool(struct attrs *s, CK_ATTRIBUTE_TYPE type, bool v);
bool attrs_set_ulong(struct attrs *s, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
void attrs_remove(struct attrs *s, CK_ATTRIBUTE_TYPE type);
/* dflt when absent or not a CK_BBOOL. */
bool attrs_get_bool(const struct attrs *s, CK_ATTRIBUTE_TYPE type, bool dflt);
/* false when absent or not a CK_ULONG. */
bool attrs_get_ulong(const struct attrs *s, CK_ATTRIBUTE_TYPE type, CK_ULONG *v);
/* Deep copy into dst (initialized here, overwritten); false when out of memory, dst empty. */
bool attrs_copy(struct attrs *dst, const struct attrs *src);
/* Every attribute of tmpl is in s with the same bytes (the C_FindObjects match). */
bool attrs_match(const struct attrs *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/*
 * An application's template as a set (out is initialized here; left empty on failure).
 * CKR_OK; CKR_ARGUMENTS_BAD (tmpl NULL with n > 0, or a NULL pValue with a length);
 * CKR_TEMPLATE_INCONSISTENT (the same type twice with different values);
 * CKR_ATTRIBUTE_VALUE_INVALID (a length over UINT32_MAX, which the store cannot hold, such as
 * CK_UNAVAILABLE_INFORMATION); CKR_HOST_MEMORY.
 */
CK_RV attrs_from_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct attrs *out);

/*
 * The store encoding: u32 count, then per attribute u64 type, u32 length, bytes, in
 * ascending type order. *out may hold private values: free it with secret_free(*out, *out_len).
 * false when out of memory or the set cannot be encoded (over 4096 attributes).
 */
bool attrs_encode(const struct attrs *s, uint8_t **out, size_t *out_len);
/* The length attrs_encode would produce. */
size_t attrs_encoded_len(const struct attrs *s);
/*
 * false on any malformed input (bounds, duplicates, unsorted, trailing bytes, a count over
 * 4096). out is initialized here; left empty on failure.
 */
bool attrs_decode(const uint8_t *in, size_t len, struct attrs *out);

#endif
