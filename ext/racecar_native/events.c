/* The event queue between librdkafka's threads and the Ruby thread.
 * Producers of events may be any thread; the single consumer is Ruby. */
#include "events.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_string(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

void rcn_events_init(rcn_event_queue *q, size_t limit) {
    pthread_mutex_init(&q->lock, NULL);
    q->head = q->tail = NULL;
    q->count = 0;
    q->limit = limit;
    q->dropped = 0;
}

void rcn_events_destroy(rcn_event_queue *q) {
    rcn_events_free(q->head);
    q->head = q->tail = NULL;
    pthread_mutex_destroy(&q->lock);
}

rcn_event *rcn_event_new(rcn_event_type type, const char *name, const char *text) {
    rcn_event *ev = calloc(1, sizeof(*ev));
    if (!ev) return NULL;
    ev->type = type;
    ev->name = copy_string(name);
    ev->text = copy_string(text);
    ev->partition = -1;
    ev->offset = -1;
    return ev;
}

rcn_event *rcn_event_log(int level, const char *facility, const char *text) {
    rcn_event *ev = rcn_event_new(RCN_EV_LOG, facility, text);
    if (ev) ev->level = level;
    return ev;
}

rcn_event *rcn_event_client_error(rd_kafka_t *rk, int err, const char *reason) {
    char text[512];
    int fatal = 0;
    snprintf(text, sizeof(text), "%s", reason ? reason : "");
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        fatal = 1;
        err = rd_kafka_fatal_error(rk, text, sizeof(text));
    }
    rcn_event *ev = rcn_event_new(RCN_EV_ERROR, NULL, text);
    if (!ev) return NULL;
    ev->err = (rd_kafka_resp_err_t)err;
    ev->fatal = fatal;
    return ev;
}

static int droppable(const rcn_event *ev) {
    return ev->type == RCN_EV_LOG || ev->type == RCN_EV_ACK || ev->type == RCN_EV_STATS;
}

void rcn_events_push(rcn_event_queue *q, rcn_event *ev) {
    if (!ev) return;
    pthread_mutex_lock(&q->lock);
    if (q->count >= q->limit && droppable(ev)) {
        /* Nobody drained for a long time: keep memory bounded, count the loss. */
        q->dropped++;
        pthread_mutex_unlock(&q->lock);
        rcn_events_free(ev);
        return;
    }
    ev->next = NULL;
    if (q->tail) q->tail->next = ev; else q->head = ev;
    q->tail = ev;
    q->count++;
    pthread_mutex_unlock(&q->lock);
}

rcn_event *rcn_events_take(rcn_event_queue *q, size_t *dropped) {
    pthread_mutex_lock(&q->lock);
    rcn_event *list = q->head;
    q->head = q->tail = NULL;
    q->count = 0;
    if (dropped) *dropped = q->dropped;
    q->dropped = 0;
    pthread_mutex_unlock(&q->lock);
    return list;
}

int rcn_events_pending(rcn_event_queue *q) {
    /* A racy read is fine: a missed event is picked up on the next drain. */
    return q->head != NULL || q->dropped != 0;
}

void rcn_events_free(rcn_event *list) {
    while (list) {
        rcn_event *next = list->next;
        free(list->name);
        free(list->text);
        if (list->partitions) rd_kafka_topic_partition_list_destroy(list->partitions);
        free(list);
        list = next;
    }
}
