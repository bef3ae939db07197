/* Growing the small C tables (partitions, topic queues, topic handles),
 * which are searched linearly and hold a handful of entries. */
#ifndef RCN_GROW_ARRAY_H
#define RCN_GROW_ARRAY_H

#include <stdlib.h>

/* Tables grow by doubling: returns an array with room for item len (items itself when there
 * is room, first slots when empty), updating *cap, or NULL when out of memory
 * (items is then left as it was). */
static inline void *rcn_grow_array(void *items, size_t len, size_t *cap, size_t first, size_t item_size) {
    if (len < *cap) return items;
    size_t grown = *cap ? *cap * 2 : first;
    size_t bytes;
    if (grown < *cap || __builtin_mul_overflow(grown, item_size, &bytes)) return NULL;
    void *moved = realloc(items, bytes);
    if (moved) *cap = grown;
    return moved;
}

#endif
