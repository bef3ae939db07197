/* Per-topic fetch queues (see topic_queues.h). Only the thread that runs the
 * consumer touches the set: the runner's poll, and the rebalance callback,
 * which librdkafka calls from inside that poll. */
#include "topic_queues.h"
#include "grow_array.h"
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void rcn_tqueues_init(rcn_topic_queues *s, rcn_queue_ready_cb ready, void *opaque) {
    memset(s, 0, sizeof(*s));
    s->ready = ready;
    s->ready_opaque = opaque;
}

static rd_kafka_queue_t *queue_for(rcn_topic_queues *s, rd_kafka_t *rk, const char *topic) {
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->items[i].topic, topic) == 0) return s->items[i].queue;
    }
    rcn_topic_queue *items = rcn_grow_array(s->items, s->len, &s->cap, 4, sizeof(*items));
    if (!items) return NULL;
    s->items = items;
    char *name = strdup(topic);
    if (!name) return NULL;
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    /* The runner waits on the consumer queue; this wakes it. */
    rd_kafka_queue_cb_event_enable(queue, s->ready, s->ready_opaque);
    s->items[s->len++] = (rcn_topic_queue){name, queue};
    return queue;
}

int rcn_tqueues_route(rcn_topic_queues *s, rd_kafka_t *rk, const char *topic, int32_t partition) {
    rd_kafka_queue_t *queue = queue_for(s, rk, topic);
    if (!queue) return -1;
    rd_kafka_queue_t *fetch = rd_kafka_queue_get_partition(rk, topic, partition);
    if (!fetch) return -1;
    /* The partition keeps the forwarding after this handle is gone. */
    rd_kafka_queue_forward(fetch, queue);
    rd_kafka_queue_destroy(fetch);
    return 0;
}

size_t rcn_tqueues_take(rcn_topic_queues *s, rd_kafka_message_t **out, size_t max) {
    if (s->len == 0) return 0;
    size_t got = 0, start = s->next % s->len;
    for (size_t k = 0; k < s->len && got < max; k++) {
        ssize_t n = rd_kafka_consume_batch_queue(s->items[(start + k) % s->len].queue, 0, out + got, max - got);
        if (n > 0) got += (size_t)n;
    }
    s->next = start + 1;
    return got;
}

void rcn_tqueues_destroy_all(rcn_topic_queues *s) {
    for (size_t i = 0; i < s->len; i++) {
        /* Returns once no wake-up callback runs (they hold the queue lock). */
        rd_kafka_queue_cb_event_enable(s->items[i].queue, NULL, NULL);
        rd_kafka_queue_destroy(s->items[i].queue);
        free(s->items[i].topic);
    }
    s->len = 0;
}

void rcn_tqueues_forget_all(rcn_topic_queues *s) {
    for (size_t i = 0; i < s->len; i++) free(s->items[i].topic);
    s->len = 0;
}

void rcn_tqueues_free(rcn_topic_queues *s) {
    free(s->items);
    s->items = NULL;
    s->cap = 0;
}
