/* Delivery tracking for produced messages (pure C): a tracker counts the
 * messages still in flight and keeps their failures; waiters block on it
 * without the GVL and the delivery report callback wakes them. */
#ifndef RCN_DELIVERY_H
#define RCN_DELIVERY_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>

typedef struct rcn_failure {
    char *topic;
    int32_t partition;
    rd_kafka_resp_err_t err;
    struct rcn_failure *next;
} rcn_failure;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;           /* the Ruby object + each message in flight (atomic) */
    long pending;       /* atomic */
    long delivered;
    long failed;
    int woken;          /* set by the unblocking function */
    int32_t last_partition;
    int64_t last_offset;
    rcn_failure *failures;
    rcn_failure *failures_tail;
    long failures_kept;
} rcn_tracker;

rcn_tracker *rcn_tracker_new(void);
void rcn_tracker_ref(rcn_tracker *t);
void rcn_tracker_unref(rcn_tracker *t);
void rcn_tracker_enqueued(rcn_tracker *t);
long rcn_tracker_pending(rcn_tracker *t);
void rcn_tracker_enqueue_failed(rcn_tracker *t);
/* Called from the delivery report: records the outcome and drops the ref. */
void rcn_tracker_report(rcn_tracker *t, const rd_kafka_message_t *rkm);
/* Waits until nothing is pending, woken, or deadline_ms (monotonic) passes;
 * returns the number still pending. */
long rcn_tracker_wait(rcn_tracker *t, int64_t deadline_ms);
void rcn_tracker_wake(rcn_tracker *t);
/* Detaches the failure list; free with rcn_failures_free. */
rcn_failure *rcn_tracker_take_failures(rcn_tracker *t);
void rcn_failures_free(rcn_failure *list);

#endif
