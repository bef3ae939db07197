/* Topic handles a producer keeps by name (pure C), so producing does not
 * look the topic up under librdkafka's handle lock once per message. */
#ifndef RCN_TOPIC_CACHE_H
#define RCN_TOPIC_CACHE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct {
    char *name;
    size_t name_len;
    rd_kafka_topic_t *rkt;
} rcn_topic_entry;

typedef struct {
    rcn_topic_entry *items;
    size_t len;
    size_t cap;
    size_t last; /* index of the last hit: most producers write to one topic */
} rcn_topic_cache;

/* The handle for name, created on first use; NULL when the cache is full or
 * librdkafka refused (the caller then produces by name). Not thread-safe:
 * the caller serialises (the binding holds the GVL). */
rd_kafka_topic_t *rcn_topic_cache_get(rcn_topic_cache *cache, rd_kafka_t *rk, const char *name);
/* The last handle returned, if its topic is these bytes (not NUL-terminated,
 * possibly holding NULs: such a name never matches). Lets the caller skip
 * making a C string of the name for the common repeated topic. */
rd_kafka_topic_t *rcn_topic_cache_last(const rcn_topic_cache *cache, const char *bytes, size_t len);
/* Destroys every handle; call before rd_kafka_destroy. */
void rcn_topic_cache_clear(rcn_topic_cache *cache);
/* Frees the cache without touching the handles (they belong to a parent
 * process's librdkafka after fork). */
void rcn_topic_cache_forget(rcn_topic_cache *cache);

#endif
