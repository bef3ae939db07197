/* The producer's topic handle cache (topic_cache.c): one handle per name,
 * the last-hit shortcut by raw bytes, the 64-topic bound, clear and forget.
 * Handles come from a producer with no broker. */
#include "ctest.h"
#include "kafka_handles.h"
#include "topic_cache.h"
#include <string.h>

int main(void) {
    rd_kafka_t *rk = test_handle(RD_KAFKA_PRODUCER, NULL, NULL);
    rcn_topic_cache cache = {0};

    CHECK(rcn_topic_cache_last(&cache, "a", 1) == NULL, "an empty cache has no last handle");
    rd_kafka_topic_t *a = rcn_topic_cache_get(&cache, rk, "alpha");
    CHECK(a != NULL && strcmp(rd_kafka_topic_name(a), "alpha") == 0, "a handle for the topic");
    CHECK(rcn_topic_cache_get(&cache, rk, "alpha") == a, "the same name gives the same handle");
    rd_kafka_topic_t *b = rcn_topic_cache_get(&cache, rk, "beta");
    CHECK(b != NULL && b != a, "another name gives another handle");
    CHECK_EQ(cache.len, 2, "two entries");

    CHECK(rcn_topic_cache_last(&cache, "beta", 4) == b, "the last hit is found by its bytes");
    CHECK(rcn_topic_cache_last(&cache, "alpha", 5) == NULL, "only the last hit, not any entry");
    CHECK(rcn_topic_cache_last(&cache, "bet", 3) == NULL, "a prefix does not match");
    CHECK(rcn_topic_cache_last(&cache, "beta\0", 5) == NULL, "a name with a NUL never matches");
    CHECK(rcn_topic_cache_get(&cache, rk, "alpha") == a, "an older entry is still found");
    CHECK(rcn_topic_cache_last(&cache, "alpha", 5) == a, "and becomes the last hit");

    char name[32];
    int all = 1;
    for (int i = 2; i < 64; i++) {
        snprintf(name, sizeof(name), "topic-%d", i);
        if (!rcn_topic_cache_get(&cache, rk, name)) all = 0;
    }
    CHECK(all, "64 topics are cached");
    CHECK_EQ(cache.len, 64, "64 entries");
    CHECK(rcn_topic_cache_get(&cache, rk, "one-too-many") == NULL, "the 65th topic is refused (produce by name)");
    CHECK_EQ(cache.len, 64, "the cache does not grow past 64");
    CHECK(rcn_topic_cache_get(&cache, rk, "topic-40") != NULL, "cached topics still work when full");

    rcn_topic_cache_clear(&cache);
    CHECK(cache.len == 0 && cache.items == NULL, "clear empties the cache");
    CHECK(rcn_topic_cache_last(&cache, "alpha", 5) == NULL, "no last hit after clear");

    /* forget: the handles stay with librdkafka (after fork they belong to the parent). */
    rd_kafka_topic_t *c = rcn_topic_cache_get(&cache, rk, "gamma");
    rcn_topic_cache_forget(&cache);
    CHECK(cache.len == 0 && cache.items == NULL, "forget empties the cache");
    CHECK(strcmp(rd_kafka_topic_name(c), "gamma") == 0, "a forgotten handle is still valid");
    rd_kafka_topic_destroy(c);

    rd_kafka_destroy(rk);
    return ctest_summary();
}
