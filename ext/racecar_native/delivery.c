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

/* refs and pending change once per message, from the producing thread and
 * from the delivery report thread: atomics, so the two never queue on the
 * lock. The lock guards the rest and the condition variable; a waiter checks
 * pending under it and a reporter that brings pending to zero broadcasts
 * under it, so no wake-up is lost. */
void rcn_tracker_ref(rcn_tracker *t) {
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
}

void rcn_tracker_unref(rcn_tracker *t) {
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    rcn_failures_free(t->failures);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

long rcn_tracker_pending(rcn_tracker *t) {
    return __atomic_load_n(&t->pending, __ATOMIC_ACQUIRE);
}

void rcn_tracker_enqueued(rcn_tracker *t) {
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&t->pending, 1, __ATOMIC_ACQ_REL);
}

static void settle_one(rcn_tracker *t) {
    if (__atomic_sub_fetch(&t->pending, 1, __ATOMIC_ACQ_REL) == 0) {
        pthread_mutex_lock(&t->lock);
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
    }
    rcn_tracker_unref(t);
}

void rcn_tracker_enqueue_failed(rcn_tracker *t) {
    settle_one(t);
}

void rcn_tracker_report(rcn_tracker *t, const rd_kafka_message_t *rkm) {
    pthread_mutex_lock(&t->lock);
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
    pthread_mutex_unlock(&t->lock);
    /* After the outcome is recorded: whoever sees pending reach zero also
     * sees every outcome. */
    settle_one(t);
}

long rcn_tracker_wait(rcn_tracker *t, int64_t deadline_ms) {
    pthread_mutex_lock(&t->lock);
    while (rcn_tracker_pending(t) > 0 && !t->woken) {
        int64_t now = rcn_monotonic_ms();
        if (deadline_ms >= 0 && now >= deadline_ms) break;
        int64_t until = deadline_ms >= 0 ? deadline_ms : now + 1000;
        rcn_cond_wait_until(&t->cond, &t->lock, until);
    }
    t->woken = 0;
    long pending = rcn_tracker_pending(t);
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
