/* One librdkafka queue per subscribed topic, read round-robin by the runner.
 * With a single consumer queue, a quiet topic's new message waits behind
 * everything a busy topic already prefetched (up to queued.min.messages or
 * queued.max.messages.kbytes), and while that queue is full librdkafka does
 * not even fetch the quiet topic. Here every assigned partition's fetch queue
 * is forwarded to its topic's queue, so each topic has its own prefetch and
 * a poll starts at a different topic each time (pure C, no Ruby). */
#ifndef RCN_TOPIC_QUEUES_H
#define RCN_TOPIC_QUEUES_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *topic;
    rd_kafka_queue_t *queue;
} rcn_topic_queue;

/* Called by a librdkafka thread, with the topic queue locked, when an empty
 * topic queue gets a message. */
typedef void (*rcn_queue_ready_cb)(rd_kafka_t *rk, void *opaque);

typedef struct {
    rcn_topic_queue *items;
    size_t len;
    size_t cap;
    size_t next;                 /* the topic the next round starts at */
    rcn_queue_ready_cb ready;
    void *ready_opaque;
} rcn_topic_queues;

void rcn_tqueues_init(rcn_topic_queues *s, rcn_queue_ready_cb ready, void *opaque);
/* Routes a partition to its topic's queue. Must run before the partition is
 * assigned: librdkafka forwards a fetch queue to the consumer queue when
 * fetching starts unless the application forwarded it first, and keeps the
 * application's forwarding from then on. -1 when out of memory; the
 * partition's messages then arrive on the consumer queue, which is read too. */
int rcn_tqueues_route(rcn_topic_queues *s, rd_kafka_t *rk, const char *topic, int32_t partition);
/* Takes up to max messages without waiting, one topic after another. */
size_t rcn_tqueues_take(rcn_topic_queues *s, rd_kafka_message_t **out, size_t max);
/* Once the consumer has closed, or before its handle is destroyed: drops
 * what is still queued, so librdkafka holds no partition for it. */
void rcn_tqueues_destroy_all(rcn_topic_queues *s);
/* In a forked child, whose librdkafka threads live only in the parent. */
void rcn_tqueues_forget_all(rcn_topic_queues *s);
/* Frees the set itself (after destroy_all or forget_all). */
void rcn_tqueues_free(rcn_topic_queues *s);

#endif
