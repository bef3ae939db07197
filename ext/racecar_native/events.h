/* A mutex-protected queue of things librdkafka told us from its own threads or
 * from callbacks that run without the GVL. Ruby drains it after each blocking
 * call, so Ruby code never runs inside a librdkafka callback. */
#ifndef RCN_EVENTS_H
#define RCN_EVENTS_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    RCN_EV_LOG,
    RCN_EV_ERROR,
    RCN_EV_STATS,
    RCN_EV_ASSIGNED,
    RCN_EV_REVOKED,
    RCN_EV_DELIVERY_ERROR,
    RCN_EV_ACK
} rcn_event_type;

typedef struct rcn_event {
    rcn_event_type type;
    int level;                 /* syslog level for logs */
    int fatal;                 /* errors: the client is unusable */
    int lost;                  /* revoked: assignment was lost, not handed over */
    rd_kafka_resp_err_t err;
    char *name;                /* log facility, or topic */
    char *text;                /* log line, error string, statistics JSON */
    int32_t partition;
    int64_t offset;
    rd_kafka_topic_partition_list_t *partitions; /* owned copy */
    struct rcn_event *next;
} rcn_event;

typedef struct {
    pthread_mutex_t lock;
    rcn_event *head;
    rcn_event *tail;
    size_t count;
    size_t limit;   /* beyond this, log and ack events are dropped, never errors */
    size_t dropped;
} rcn_event_queue;

void rcn_events_init(rcn_event_queue *q, size_t limit);
void rcn_events_destroy(rcn_event_queue *q);
rcn_event *rcn_event_new(rcn_event_type type, const char *name, const char *text);
void rcn_events_push(rcn_event_queue *q, rcn_event *ev);
/* The log and error events every client records the same way; NULL when out
 * of memory (pushing NULL is a no-op). A fatal error is resolved to its cause. */
rcn_event *rcn_event_log(int level, const char *facility, const char *text);
rcn_event *rcn_event_client_error(rd_kafka_t *rk, int err, const char *reason);
/* Detaches the whole list; the caller frees it with rcn_events_free. */
rcn_event *rcn_events_take(rcn_event_queue *q, size_t *dropped);
int rcn_events_pending(rcn_event_queue *q);
void rcn_events_free(rcn_event *list);

#endif
