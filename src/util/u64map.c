/* The u64 hash map behind object handles: linear probing with backward-shift deletion. */
#include "config.h"

#include <stdlib.h>

#include "util/u64map.h"

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Fibonacci hashing spreads sequential ids (handles, row ids) across the table. */
    return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

void u64map_init(struct u64map *m)
{
    m->keys = NULL;
    m->values = NULL;
    m->cap = 0;
    m->n = 0;
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->values);
    u64map_init(m);
}

static void put_unchecked(struct u64map *m, uint64_t key, uint64_t value)
{
    size_t i = slot_of(key, m->cap);

    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0)
        m->n++;
    m->keys[i] = key;
    m->values[i] = value;
}

static bool grow(struct u64map *m)
{
    struct u64map bigger;
    size_t cap = m->cap ? m->cap * 2 : 64;

    bigger.keys = calloc(cap, sizeof *bigger.keys);
    bigger.values = calloc(cap, sizeof *bigger.values);
    bigger.cap = cap;
    bigger.n = 0;
    if (bigger.keys == NULL || bigger.values == NULL) {
        u64map_free(&bigger);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != 0)
            put_unchecked(&bigger, m->keys[i], m->values[i]);
    u64map_free(m);
    *m = bigger;
    return true;
}

bool u64map_put(struct u64map *m, uint64_t key, uint64_t value)
{
    /* Keep the load under 3/4 so probes stay short. */
    if ((m->n + 1) * 4 > m->cap * 3 && !grow(m))
        return false;
    put_unchecked(m, key, value);
    return true;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *value)
{
    size_t i;

    if (m->cap == 0 || key == 0)
        return false;
    for (i = slot_of(key, m->cap); m->keys[i] != 0; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            *value = m->values[i];
            return true;
        }
    }
    return false;
}

void u64map_remove(struct u64map *m, uint64_t key)
{
    size_t i, j, home;

    if (m->cap == 0 || key == 0)
        return;
    for (i = slot_of(key, m->cap); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == 0)
            return;
    /* Shift later members of the probe run back so no tombstones are needed. */
    for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
        home = slot_of(m->keys[j], m->cap);
        if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
            m->keys[i] = m->keys[j];
            m->values[i] = m->values[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->n--;
}
