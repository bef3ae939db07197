/* Per-topic fetch queues (topic_queues.c) against librdkafka's mock cluster:
 * partitions routed before assignment deliver into their topic's queue, the
 * ready callback fires, and takes go round-robin over the topics so a busy
 * topic cannot starve a quiet one. */
#include "ctest.h"
#include "kafka_handles.h"
#include "monotonic.h"
#include "topic_queues.h"
#include <librdkafka/rdkafka_mock.h>
#include <string.h>
#include <unistd.h>

#define BUSY_MESSAGES 50
#define QUIET_MESSAGES 2

static int ready_calls;

static void on_ready(rd_kafka_t *rk, void *opaque) {
    (void)rk;
    __atomic_add_fetch((int *)opaque, 1, __ATOMIC_RELAXED);
}

static void produce(rd_kafka_t *producer, const char *topic, int32_t partition, int count) {
    for (int i = 0; i < count; i++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                                    RD_KAFKA_V_VALUE("v", 1), RD_KAFKA_V_END);
        if (err) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
            exit(2);
        }
    }
}

static size_t queued(rcn_topic_queues *s, size_t i) {
    return i < s->len ? rd_kafka_queue_length(s->items[i].queue) : 0;
}

int main(void) {
    rd_kafka_t *owner = test_handle(RD_KAFKA_PRODUCER, NULL, NULL);
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(owner, 1);
    CHECK(cluster != NULL, "a mock cluster");
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
    rd_kafka_mock_topic_create(cluster, "busy", 2, 1);
    rd_kafka_mock_topic_create(cluster, "quiet", 1, 1);

    rd_kafka_t *producer = test_handle(RD_KAFKA_PRODUCER, bootstrap, NULL);
    produce(producer, "busy", 0, BUSY_MESSAGES / 2);
    produce(producer, "busy", 1, BUSY_MESSAGES / 2);
    produce(producer, "quiet", 0, QUIET_MESSAGES);
    CHECK_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR, "test messages produced");

    rd_kafka_t *consumer = test_handle(RD_KAFKA_CONSUMER, bootstrap, "ctest-topic-queues");
    rd_kafka_poll_set_consumer(consumer);
    rcn_topic_queues s;
    rcn_tqueues_init(&s, on_ready, &ready_calls);
    int routed = rcn_tqueues_route(&s, consumer, "busy", 0) == 0 && rcn_tqueues_route(&s, consumer, "busy", 1) == 0 &&
                 rcn_tqueues_route(&s, consumer, "quiet", 0) == 0;
    CHECK(routed, "three partitions routed");
    CHECK_EQ(s.len, 2, "one queue per topic, not per partition");
    CHECK(strcmp(s.items[0].topic, "busy") == 0 && strcmp(s.items[1].topic, "quiet") == 0, "in routing order");

    rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(3);
    rd_kafka_topic_partition_list_add(assignment, "busy", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(assignment, "busy", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(assignment, "quiet", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    CHECK_EQ(rd_kafka_assign(consumer, assignment), RD_KAFKA_RESP_ERR_NO_ERROR, "assigned");
    rd_kafka_topic_partition_list_destroy(assignment);

    /* Wait (bounded) until both topics' messages have been fetched. */
    int64_t deadline = rcn_monotonic_ms() + 20000;
    while ((queued(&s, 0) < BUSY_MESSAGES || queued(&s, 1) < QUIET_MESSAGES) && rcn_monotonic_ms() < deadline) {
        rd_kafka_poll(consumer, 10);
    }
    CHECK(queued(&s, 0) >= BUSY_MESSAGES, "the busy topic's messages arrive in its queue");
    CHECK(queued(&s, 1) >= QUIET_MESSAGES, "the quiet topic's messages arrive in its queue");
    CHECK(__atomic_load_n(&ready_calls, __ATOMIC_RELAXED) > 0, "the ready callback fired");

    rd_kafka_message_t *out[BUSY_MESSAGES + QUIET_MESSAGES];
    size_t got = rcn_tqueues_take(&s, out, 1);
    CHECK(got == 1 && strcmp(rd_kafka_topic_name(out[0]->rkt), "busy") == 0, "the first take starts at busy");
    size_t total = got;
    int errors = got == 1 && out[0]->err != 0;
    if (got) rd_kafka_message_destroy(out[0]);
    got = rcn_tqueues_take(&s, out, 1);
    CHECK(got == 1 && strcmp(rd_kafka_topic_name(out[0]->rkt), "quiet") == 0,
          "the next take starts at quiet although busy has more");
    total += got;
    if (got) {
        errors |= out[0]->err != 0;
        rd_kafka_message_destroy(out[0]);
    }
    got = rcn_tqueues_take(&s, out, BUSY_MESSAGES + QUIET_MESSAGES);
    total += got;
    for (size_t i = 0; i < got; i++) {
        errors |= out[i]->err != 0;
        rd_kafka_message_destroy(out[i]);
    }
    CHECK_EQ(total, BUSY_MESSAGES + QUIET_MESSAGES, "every message is taken exactly once");
    CHECK(!errors, "no error events among them");
    CHECK_EQ(rcn_tqueues_take(&s, out, 4), 0, "then nothing is left");

    rd_kafka_consumer_close(consumer);
    rcn_tqueues_destroy_all(&s);
    CHECK_EQ(s.len, 0, "destroy_all drops the queues");
    rcn_tqueues_free(&s);
    CHECK(s.items == NULL, "free releases the set");
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(owner);
    return ctest_summary();
}
