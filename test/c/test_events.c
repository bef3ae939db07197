/* The event queue (events.c): FIFO order, the bound that drops logs, stats
 * and acks but never errors or rebalances, the dropped count, and the error
 * events a client records (fatal ones resolved to their cause). */
#include "ctest.h"
#include "events.h"
#include "kafka_handles.h"
#include <string.h>

static size_t length(const rcn_event *list) {
    size_t n = 0;
    for (; list; list = list->next) n++;
    return n;
}

static void test_order(void) {
    rcn_event_queue q;
    rcn_events_init(&q, 100);
    CHECK(!rcn_events_pending(&q), "a new queue has nothing pending");
    rcn_events_push(&q, rcn_event_log(6, "fac", "first"));
    rcn_events_push(&q, rcn_event_new(RCN_EV_STATS, NULL, "{}"));
    rcn_events_push(&q, rcn_event_log(3, "fac", "third"));
    rcn_events_push(&q, NULL); /* out of memory upstream: a no-op */
    CHECK(rcn_events_pending(&q), "pushed events are pending");
    CHECK_EQ(q.count, 3, "three events counted");

    size_t dropped = 99;
    rcn_event *list = rcn_events_take(&q, &dropped);
    CHECK_EQ(length(list), 3, "take returns all three");
    CHECK_EQ(dropped, 0, "nothing dropped");
    CHECK(list && strcmp(list->text, "first") == 0 && list->level == 6 && strcmp(list->name, "fac") == 0,
          "first in, first out (with level and facility)");
    CHECK(list && list->next && list->next->type == RCN_EV_STATS, "second is the stats event");
    CHECK(list && list->next && list->next->next && strcmp(list->next->next->text, "third") == 0,
          "third comes last");
    CHECK(list && list->partition == -1 && list->offset == -1, "a new event has no partition or offset");
    rcn_events_free(list);
    CHECK(!rcn_events_pending(&q), "take empties the queue");
    CHECK(rcn_events_take(&q, NULL) == NULL, "taking from an empty queue gives NULL");

    rcn_events_push(&q, rcn_event_log(6, "fac", "left behind"));
    rcn_events_destroy(&q); /* frees what is still queued (ASan's leak check sees it) */
    CHECK(1, "destroy frees undrained events");
}

static void test_bound(void) {
    rcn_event_queue q;
    rcn_events_init(&q, 3);
    for (int i = 0; i < 5; i++) rcn_events_push(&q, rcn_event_log(6, "fac", "line"));
    CHECK_EQ(q.count, 3, "logs beyond the limit are not queued");
    rcn_events_push(&q, rcn_event_new(RCN_EV_ACK, "t", NULL));
    rcn_events_push(&q, rcn_event_new(RCN_EV_STATS, NULL, "{}"));
    CHECK_EQ(q.count, 3, "acks and stats beyond the limit are not queued");
    rcn_events_push(&q, rcn_event_new(RCN_EV_ERROR, NULL, "broker down"));
    rcn_events_push(&q, rcn_event_new(RCN_EV_REVOKED, NULL, NULL));
    rcn_events_push(&q, rcn_event_new(RCN_EV_DELIVERY_ERROR, "t", "failed"));
    CHECK_EQ(q.count, 6, "errors, revokes and delivery errors are never dropped");

    size_t dropped = 0;
    rcn_event *list = rcn_events_take(&q, &dropped);
    CHECK_EQ(dropped, 4, "the dropped count is reported");
    CHECK_EQ(length(list), 6, "six events survive");
    const rcn_event *last = list;
    while (last && last->next) last = last->next;
    CHECK(last && last->type == RCN_EV_DELIVERY_ERROR, "the kept events stay in order");
    rcn_events_free(list);

    rcn_events_push(&q, rcn_event_log(6, "fac", "again"));
    rcn_events_free(rcn_events_take(&q, &dropped));
    CHECK_EQ(dropped, 0, "the dropped count resets on take");
    rcn_events_destroy(&q);
}

static void test_dropped_only_is_pending(void) {
    rcn_event_queue q;
    rcn_events_init(&q, 0);
    rcn_events_push(&q, rcn_event_log(6, "fac", "dropped"));
    CHECK(q.head == NULL, "limit 0 queues no log");
    CHECK(rcn_events_pending(&q), "a drop alone makes the queue pending, so Ruby reports it");
    rcn_events_free(rcn_events_take(&q, NULL));
    rcn_events_destroy(&q);
}

static void test_client_errors(void) {
    rd_kafka_t *rk = test_handle(RD_KAFKA_PRODUCER, NULL, NULL);
    rcn_event *ev = rcn_event_client_error(rk, RD_KAFKA_RESP_ERR__TRANSPORT, "connection refused");
    CHECK(ev && ev->type == RCN_EV_ERROR, "an error event");
    CHECK(ev && ev->err == RD_KAFKA_RESP_ERR__TRANSPORT && !ev->fatal, "keeps a non-fatal code");
    CHECK(ev && strcmp(ev->text, "connection refused") == 0, "keeps the reason");
    rcn_events_free(ev);

    ev = rcn_event_client_error(rk, RD_KAFKA_RESP_ERR__TRANSPORT, NULL);
    CHECK(ev && ev->text && ev->text[0] == '\0', "a missing reason is an empty string");
    rcn_events_free(ev);

    rd_kafka_test_fatal_error(rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "made up for the test");
    ev = rcn_event_client_error(rk, RD_KAFKA_RESP_ERR__FATAL, "fatal error");
    CHECK(ev && ev->fatal, "a fatal error is marked fatal");
    CHECK(ev && ev->err == RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "and resolved to its cause");
    CHECK(ev && strstr(ev->text, "made up for the test") != NULL, "with the cause's text");
    rcn_events_free(ev);
    rd_kafka_destroy(rk);
}

int main(void) {
    test_order();
    test_bound();
    test_dropped_only_is_pending();
    test_client_errors();
    return ctest_summary();
}
