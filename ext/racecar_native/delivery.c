/* Delivery trackers. A tracker lives as long as its Ruby object or any
 * message in flight for it, whichever is longer, so a delivery report arriving
 * after the Ruby object was collected still has somewhere to go. */
#include "delivery.h"
#include "monotonic.h"
#include <stdlib.h>
#include <string.h>

#define MAX_KEPT_FAILURES 1000

rcn_tracker *rcn_tracker_new(void) {
    rcn_tracker *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    pthread_mutex_init(&t->lock, NULL);
    rcn_cond_init_monotonic(&t->cond);
    t->refs = 1;
    t->last_partition = -1;
    t->last_offset = -1;
    return t;
}

void rcn_failures_free(rcn_failure *list) {
    while (list) {
        rcn_failure *next = list->next;
        free(list->topic);
        free(list);
        list = next;
    }
}

void rcn_tracker_ref(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    t->refs++;
    pthread_mutex_unlock(&t->lock);
}

void rcn_tracker_unref(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    int last = --t->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (!last) return;
    rcn_failures_free(t->failures);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void rcn_tracker_enqueued(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    t->refs++;
    t->pending++;
    pthread_mutex_unlock(&t->lock);
}

void rcn_tracker_enqueue_failed(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    t->pending--;
    pthread_mutex_unlock(&t->lock);
    rcn_tracker_unref(t);
}

void rcn_tracker_report(rcn_tracker *t, const rd_kafka_message_t *rkm) {
    pthread_mutex_lock(&t->lock);
    t->pending--;
    if (rkm->err) {
        t->failed++;
        if (t->failures_kept < MAX_KEPT_FAILURES) {
            rcn_failure *f = calloc(1, sizeof(*f));
            if (f) {
                f->topic = strdup(rd_kafka_topic_name(rkm->rkt));
                f->partition = rkm->partition;
                f->err = rkm->err;
                if (t->failures_tail) t->failures_tail->next = f; else t->failures = f;
                t->failures_tail = f;
                t->failures_kept++;
            }
        }
    } else {
        t->delivered++;
        t->last_partition = rkm->partition;
        t->last_offset = rkm->offset;
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    rcn_tracker_unref(t);
}

long rcn_tracker_wait(rcn_tracker *t, int64_t deadline_ms) {
    pthread_mutex_lock(&t->lock);
    while (t->pending > 0 && !t->woken) {
        int64_t now = rcn_monotonic_ms();
        if (deadline_ms >= 0 && now >= deadline_ms) break;
        int64_t until = deadline_ms >= 0 ? deadline_ms : now + 1000;
        rcn_cond_wait_until(&t->cond, &t->lock, until);
    }
    t->woken = 0;
    long pending = t->pending;
    pthread_mutex_unlock(&t->lock);
    return pending;
}

void rcn_tracker_wake(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    t->woken = 1;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

rcn_failure *rcn_tracker_take_failures(rcn_tracker *t) {
    pthread_mutex_lock(&t->lock);
    rcn_failure *list = t->failures;
    t->failures = t->failures_tail = NULL;
    t->failures_kept = 0;
    t->failed = 0;
    pthread_mutex_unlock(&t->lock);
    return list;
}
