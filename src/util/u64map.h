/* A hash map from non-zero 64-bit keys to 64-bit values (open addressing, linear probing). */
#ifndef TPMTOK_U64MAP_H
#define TPMTOK_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys;      /* 0 marks an empty slot */
    uint64_t *values;
    size_t cap;          /* a power of two, or 0 */
    size_t n;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* Inserts or replaces. key must not be 0. false when out of memory. */
bool u64map_put(struct u64map *m, uint64_t key, uint64_t value);
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *value);
/* Removes key if present. */
void u64map_remove(struct u64map *m, uint64_t key);

#endif
