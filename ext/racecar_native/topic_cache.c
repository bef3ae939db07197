/* Topic handles by name for the producer. Bounded: an application producing
 * to thousands of topic names falls back to producing by name for the rest
 * instead of growing without limit. */
#include "topic_cache.h"
#include "grow_array.h"
#include <stdlib.h>
#include <string.h>

#define MAX_CACHED_TOPICS 64

rd_kafka_topic_t *rcn_topic_cache_last(const rcn_topic_cache *cache, const char *bytes, size_t len) {
    if (cache->last >= cache->len) return NULL;
    const rcn_topic_entry *e = &cache->items[cache->last];
    return e->name_len == len && memcmp(e->name, bytes, len) == 0 ? e->rkt : NULL;
}

rd_kafka_topic_t *rcn_topic_cache_get(rcn_topic_cache *cache, rd_kafka_t *rk, const char *name) {
    if (cache->last < cache->len && strcmp(cache->items[cache->last].name, name) == 0)
        return cache->items[cache->last].rkt;
    for (size_t i = 0; i < cache->len; i++) {
        if (strcmp(cache->items[i].name, name) == 0) {
            cache->last = i;
            return cache->items[i].rkt;
        }
    }
    if (cache->len >= MAX_CACHED_TOPICS) return NULL;
    rcn_topic_entry *items = rcn_grow_array(cache->items, cache->len, &cache->cap, 4, sizeof(*items));
    if (!items) return NULL;
    cache->items = items;
    char *copy = strdup(name);
    if (!copy) return NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    if (!rkt) {
        free(copy);
        return NULL;
    }
    cache->items[cache->len] = (rcn_topic_entry){copy, strlen(copy), rkt};
    cache->last = cache->len++;
    return rkt;
}

void rcn_topic_cache_forget(rcn_topic_cache *cache) {
    for (size_t i = 0; i < cache->len; i++) free(cache->items[i].name);
    free(cache->items);
    *cache = (rcn_topic_cache){0};
}

void rcn_topic_cache_clear(rcn_topic_cache *cache) {
    for (size_t i = 0; i < cache->len; i++) rd_kafka_topic_destroy(cache->items[i].rkt);
    rcn_topic_cache_forget(cache);
}
