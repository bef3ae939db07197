/* Delivery tracking (delivery.c) and the monotonic waits under it
 * (monotonic.c): counters, kept failures and their cap, waits that end on
 * the last report, on a wake and on the deadline. Reports are built by hand
 * against a topic handle of a producer with no broker. */
#include "ctest.h"
#include "delivery.h"
#include "kafka_handles.h"
#include "monotonic.h"
#include <string.h>
#include <unistd.h>

static rd_kafka_topic_t *topic;

static rd_kafka_message_t report(rd_kafka_resp_err_t err, int32_t partition, int64_t offset) {
    rd_kafka_message_t rkm;
    memset(&rkm, 0, sizeof(rkm));
    rkm.err = err;
    rkm.rkt = topic;
    rkm.partition = partition;
    rkm.offset = offset;
    return rkm;
}

static void test_counters(void) {
    rcn_tracker *t = rcn_tracker_new();
    CHECK(t != NULL, "a tracker");
    CHECK_EQ(rcn_tracker_pending(t), 0, "nothing pending at first");
    for (int i = 0; i < 4; i++) rcn_tracker_enqueued(t);
    CHECK_EQ(rcn_tracker_pending(t), 4, "four enqueued are pending");
    CHECK_EQ(t->refs, 5, "each message in flight holds a reference");

    rd_kafka_message_t ok1 = report(RD_KAFKA_RESP_ERR_NO_ERROR, 2, 100);
    rcn_tracker_report(t, &ok1);
    rd_kafka_message_t bad = report(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 1, -1);
    rcn_tracker_report(t, &bad);
    rcn_tracker_enqueue_failed(t);
    CHECK_EQ(rcn_tracker_pending(t), 1, "reports and a failed enqueue settle three");
    CHECK_EQ(t->refs, 2, "settled messages drop their references");
    CHECK_EQ(t->delivered, 1, "one delivered");
    CHECK_EQ(t->failed, 1, "one failed");
    CHECK(t->last_partition == 2 && t->last_offset == 100, "the last delivery's partition and offset");

    rcn_failure *failures = rcn_tracker_take_failures(t);
    CHECK(failures && !failures->next, "one failure kept");
    CHECK(failures && strcmp(failures->topic, "deliveries") == 0 && failures->partition == 1 &&
              failures->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
          "the failure names topic, partition and error");
    CHECK(t->failed == 0 && t->failures == NULL, "take resets the failures");
    rcn_failures_free(failures);

    rd_kafka_message_t ok2 = report(RD_KAFKA_RESP_ERR_NO_ERROR, 0, 7);
    rcn_tracker_report(t, &ok2);
    CHECK_EQ(rcn_tracker_wait(t, rcn_monotonic_ms() + 1000), 0, "nothing pending: the wait returns 0");
    rcn_tracker_unref(t); /* the owner's reference: freed here (ASan checks) */
}

static void test_failure_cap(void) {
    rcn_tracker *t = rcn_tracker_new();
    for (int i = 0; i < 1005; i++) rcn_tracker_enqueued(t);
    rd_kafka_message_t bad = report(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, 0, -1);
    for (int i = 0; i < 1005; i++) rcn_tracker_report(t, &bad);
    CHECK_EQ(t->failed, 1005, "every failure is counted");
    rcn_failure *failures = rcn_tracker_take_failures(t);
    long kept = 0;
    for (rcn_failure *f = failures; f; f = f->next) kept++;
    CHECK_EQ(kept, 1000, "at most 1000 failures are kept");
    rcn_failures_free(failures);
    rcn_tracker_unref(t);
}

static void *report_later(void *arg) {
    usleep(50 * 1000);
    rd_kafka_message_t ok = report(RD_KAFKA_RESP_ERR_NO_ERROR, 0, 1);
    rcn_tracker_report(arg, &ok);
    return NULL;
}

static void *wake_later(void *arg) {
    usleep(50 * 1000);
    rcn_tracker_wake(arg);
    return NULL;
}

static void test_waits(void) {
    rcn_tracker *t = rcn_tracker_new();
    rcn_tracker_enqueued(t);

    int64_t start = rcn_monotonic_ms();
    CHECK_EQ(rcn_tracker_wait(t, start + 100), 1, "a wait past its deadline returns what is pending");
    int64_t waited = rcn_monotonic_ms() - start;
    CHECK(waited >= 100 && waited < 5000, "and it waited until the deadline, not longer");

    start = rcn_monotonic_ms();
    CHECK_EQ(rcn_tracker_wait(t, start - 1), 1, "a deadline in the past returns at once");
    CHECK(rcn_monotonic_ms() - start < 1000, "without waiting (for the deadline)");

    pthread_t thread;
    pthread_create(&thread, NULL, wake_later, t);
    start = rcn_monotonic_ms();
    CHECK_EQ(rcn_tracker_wait(t, -1), 1, "a wake ends a wait without deadline, the message still pending");
    CHECK(rcn_monotonic_ms() - start < 5000, "soon after the wake");
    pthread_join(thread, NULL);
    CHECK_EQ(t->woken, 0, "the wait consumes the wake");

    pthread_create(&thread, NULL, report_later, t);
    start = rcn_monotonic_ms();
    CHECK_EQ(rcn_tracker_wait(t, start + 10000), 0, "the last report from another thread ends the wait");
    CHECK(rcn_monotonic_ms() - start < 5000, "well before the deadline");
    pthread_join(thread, NULL);
    CHECK_EQ(t->delivered, 1, "the other thread's delivery is seen");
    rcn_tracker_unref(t);
}

static void test_monotonic(void) {
    int64_t a = rcn_monotonic_ms();
    usleep(20 * 1000);
    int64_t b = rcn_monotonic_ms();
    CHECK(a > 0 && b - a >= 20 && b - a < 5000, "the monotonic clock advances with time");

    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    rcn_cond_init_monotonic(&cond);
    pthread_mutex_lock(&lock);
    int64_t start = rcn_monotonic_ms();
    rcn_cond_wait_until(&cond, &lock, start + 60);
    int64_t waited = rcn_monotonic_ms() - start;
    pthread_mutex_unlock(&lock);
    CHECK(waited >= 59 && waited < 5000, "a wait until a monotonic deadline lasts until it");
    pthread_cond_destroy(&cond);
}

int main(void) {
    rd_kafka_t *rk = test_handle(RD_KAFKA_PRODUCER, NULL, NULL);
    topic = rd_kafka_topic_new(rk, "deliveries", NULL);
    test_counters();
    test_failure_cap();
    test_waits();
    test_monotonic();
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return ctest_summary();
}
