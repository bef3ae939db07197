/* The state behind a Racecar::Native::Consumer, shared by consumer.c (the
 * handle and its librdkafka callbacks) and runner.c (the main loop). */
#ifndef RCN_CONSUMER_H
#define RCN_CONSUMER_H

#include "racecar_native.h"
#include <sys/types.h>
#include "events.h"
#include "message_block.h"
#include "partition_table.h"
#include "pause.h"
#include "topic_queues.h"

/* One lifecycle, checked by rcn_consumer_get on every entry. CLOSING: close
 * began (it may have been interrupted and is finished by the next close, or
 * by the reaper once the object is collected). A handle inherited across
 * fork is forgotten, never touched: its librdkafka threads live in the
 * parent. */
typedef enum {
    RCN_HANDLE_UNINITIALIZED = 0,
    RCN_HANDLE_OPEN,
    RCN_HANDLE_CLOSING,
    RCN_HANDLE_CLOSED,
    RCN_HANDLE_INHERITED
} rcn_handle_state;

typedef struct rcn_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;       /* the consumer queue: callbacks, errors; the runner waits here */
    rcn_topic_queues tqueues;      /* the assigned partitions' messages, per topic */
    rcn_event_queue events;
    rcn_partition_table table;

    /* per-topic start position, used only when subscriptions disagree */
    char **reset_topics;
    int *reset_beginning;
    int reset_count;

    volatile int stop_requested;   /* set from signal handlers and other threads */
    int resync_pending;            /* some partition has resync set */
    uint64_t poll_seq;             /* counts the runner's polls */
    int running;
    rcn_handle_state state;
    pid_t owner_pid;               /* a forked child must not destroy the handle */
    int in_flight;                 /* blocking calls outside the runner (poll_batch, commit, committed) */
    int polling;                   /* a poll fills batch: one at a time */

    /* Results of blocking calls, owned here from the moment librdkafka hands
     * them over, so an interrupt at any point neither leaks nor loses them. */
    rd_kafka_queue_t *commit_queue;                 /* sync commits report here */
    rd_kafka_topic_partition_list_t *commit_list;   /* the sync commit in flight */
    rd_kafka_event_t *commit_event;                 /* its result, once it came */
    rd_kafka_topic_partition_list_t *committed_list; /* a committed query in flight */
    rd_kafka_queue_t *close_queue;                  /* once close asked librdkafka to leave */
    int close_committed;                            /* close's final commit is done */
    int close_failed;                               /* librdkafka refused to start the close */
    int64_t close_deadline_ms;

    int64_t commit_interval_ms;
    int sync_commits;
    int64_t last_commit_ms;
    rcn_pause_policy pause;

    /* blocks of messages handed to Ruby that still hold librdkafka's
     * messages; all are copied out before the handle is destroyed */
    rcn_borrowers borrowers;

    /* the current poll batch; entries are NULLed once converted or destroyed */
    rd_kafka_message_t **batch;
    size_t batch_cap;
    size_t batch_len;

    VALUE dispatcher;              /* while running */
    VALUE process_receiver;
    ID process_mid;
} rcn_consumer;

/* Commits every stored offset; sync waits for the broker (without the GVL). */
void rcn_consumer_commit(rcn_consumer *c, int sync);
/* The runner's periodic commit, once per loop (consumer.c says which). */
void rcn_consumer_commit_due(rcn_consumer *c);
/* Destroys the messages left in the batch; while the handle is open their
 * partitions are first rewound to the first of them, so an interrupted poll
 * or run loses nothing (their offsets were never stored). */
void rcn_consumer_destroy_batch(rcn_consumer *c);
/* Records a consumer error that librdkafka delivered in place of a message. */
void rcn_consumer_push_message_error(rcn_consumer *c, const rd_kafka_message_t *rkm);
/* Stores list's offsets; stored_offset advances only for the partitions
 * librdkafka accepted. With report, the refused ones are reported as events
 * (a partition no longer assigned as a warning). Returns librdkafka's result
 * for the whole list; each partition's own is in its .err. */
rd_kafka_resp_err_t rcn_consumer_store_offsets(rcn_consumer *c, rd_kafka_topic_partition_list_t *list, int report);
void rcn_consumer_pause_one(rcn_consumer *c, const char *topic, int32_t partition, int pause);
void rcn_consumer_seek_one(rcn_consumer *c, const char *topic, int32_t partition, int64_t offset);
/* The group's committed offsets for list, asked without the GVL in slices
 * with interrupt checks between. While it runs the handle owns list: when an
 * interrupt raises, the handle destroys it later; otherwise it is the
 * caller's again. */
rd_kafka_resp_err_t rcn_consumer_committed(rcn_consumer *c, rd_kafka_topic_partition_list_t *list, int timeout_ms);
/* Polls up to max messages into c->batch without the GVL; interruptible. */
void rcn_consumer_poll_into_batch(rcn_consumer *c, size_t max, int timeout_ms);

#endif
