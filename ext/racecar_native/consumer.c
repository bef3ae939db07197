/* Racecar::Native::Consumer: one librdkafka high-level consumer. Owns the
 * librdkafka callbacks, which run without the GVL and only do C work: the
 * rebalance acknowledgement, committing offsets of revoked partitions, and
 * recording events that Ruby drains after each blocking call. */
#include "consumer.h"
#include "offsets.h"
#include "reaper.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static VALUE cConsumer;

/* ---------- librdkafka callbacks (no Ruby in here) ---------- */

static void push_partitions_event(rcn_consumer *c, rcn_event_type type, const rd_kafka_topic_partition_list_t *parts, int lost) {
    rcn_event *ev = rcn_event_new(type, NULL, NULL);
    if (!ev) return;
    ev->partitions = rd_kafka_topic_partition_list_copy(parts);
    ev->lost = lost;
    rcn_events_push(&c->events, ev);
}

static void push_error_event(rcn_consumer *c, rd_kafka_resp_err_t err, const char *text, int fatal) {
    rcn_event *ev = rcn_event_new(RCN_EV_ERROR, NULL, text);
    if (!ev) return;
    ev->err = err;
    ev->fatal = fatal;
    rcn_events_push(&c->events, ev);
}

/* A consumer error delivered as a message. A fatal one (the instance was
 * fenced, ...) arrives as __FATAL; the real cause is asked of librdkafka. */
void rcn_consumer_push_message_error(rcn_consumer *c, const rd_kafka_message_t *rkm) {
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (rkm->err == RD_KAFKA_RESP_ERR__FATAL) {
        char text[512];
        rd_kafka_resp_err_t cause = rd_kafka_fatal_error(c->rk, text, sizeof(text));
        push_error_event(c, cause ? cause : rkm->err, cause ? text : rd_kafka_message_errstr(rkm), 1);
        return;
    }
    push_error_event(c, rkm->err, rd_kafka_message_errstr(rkm), 0);
}

static void push_error_object(rcn_consumer *c, rd_kafka_error_t *error, const char *context) {
    if (!error) return;
    char text[512];
    snprintf(text, sizeof(text), "%s: %s", context, rd_kafka_error_string(error));
    push_error_event(c, rd_kafka_error_code(error), text, rd_kafka_error_is_fatal(error));
    rd_kafka_error_destroy(error);
}

/* Subscriptions with different start positions: librdkafka has one
 * auto.offset.reset per consumer, so partitions without a committed offset get
 * their topic's own start position here, before they are assigned. */
static void resolve_start_positions(rcn_consumer *c, rd_kafka_topic_partition_list_t *parts) {
    if (c->reset_count == 0) return;
    rd_kafka_resp_err_t err = rd_kafka_committed(c->rk, parts, 10000);
    if (err) {
        push_error_event(c, err, "could not look up committed offsets for the new assignment", 0);
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (tp->offset >= 0) continue;
        tp->offset = RD_KAFKA_OFFSET_INVALID;
        for (int j = 0; j < c->reset_count; j++) {
            if (strcmp(c->reset_topics[j], tp->topic) == 0)
                tp->offset = c->reset_beginning[j] ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        }
    }
}

static void commit_revoked(rcn_consumer *c, const rd_kafka_topic_partition_list_t *parts) {
    /* Everything stored, even what an earlier asynchronous commit already
     * sent: that commit may have failed, and this is the last chance. */
    rd_kafka_topic_partition_list_t *list = rcn_offsets_to_commit(&c->table, 0, parts);
    if (!list) return;
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, list, 0);
    if (err) push_error_event(c, err, "committing offsets of revoked partitions failed", 0);
    else rcn_offsets_committed(&c->table, list);
    rd_kafka_topic_partition_list_destroy(list);
}

/* Pauses or resumes list's partitions; librdkafka's refusal, of the call or
 * of single partitions (.err), is reported instead of ignored. */
static void pause_partitions(rcn_consumer *c, rd_kafka_topic_partition_list_t *list, int pause) {
    rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(c->rk, list) : rd_kafka_resume_partitions(c->rk, list);
    if (err) {
        push_error_event(c, err, pause ? "pausing partitions failed" : "resuming partitions failed", 0);
        return;
    }
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (!tp->err) continue;
        char text[512];
        snprintf(text, sizeof(text), "%s %s [%d] failed: %s", pause ? "pausing" : "resuming", tp->topic,
                 (int)tp->partition, rd_kafka_err2str(tp->err));
        push_error_event(c, tp->err, text, 0);
    }
}

/* librdkafka keeps an application pause on a partition across unassign and
 * assign, so a partition racecar stops tracking must be resumed, or it would
 * come back paused with nothing left to resume it. */
static void resume_untracked(rcn_consumer *c, const rd_kafka_topic_partition_list_t *revoked) {
    rd_kafka_topic_partition_list_t *resume = NULL;
    for (size_t i = 0; i < c->table.len; i++) {
        rcn_partition *p = &c->table.items[i];
        if (!p->paused) continue;
        if (revoked ? !rd_kafka_topic_partition_list_find(revoked, p->topic, p->partition) : p->assigned) continue;
        if (!resume) resume = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_list_add(resume, p->topic, p->partition);
        p->paused = 0;
    }
    if (!resume) return;
    pause_partitions(c, resume, 0);
    rd_kafka_topic_partition_list_destroy(resume);
}

/* Before the assignment: librdkafka forwards a fetch queue only if the
 * application has not (topic_queues.h). */
static void route_to_topic_queues(rcn_consumer *c, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt; i++) {
        if (rcn_tqueues_route(&c->tqueues, rk, parts->elems[i].topic, parts->elems[i].partition) == 0) continue;
        char text[512];
        snprintf(text, sizeof(text), "%s [%d] shares the consumer queue with every topic: out of memory for its topic's own queue",
                 parts->elems[i].topic, (int)parts->elems[i].partition);
        rcn_events_push(&c->events, rcn_event_log(4, "RACECAR", text));
    }
}

static void on_assign(rcn_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int cooperative) {
    resolve_start_positions(c, parts);
    route_to_topic_queues(c, rk, parts);
    int failed;
    if (cooperative) {
        rd_kafka_error_t *error = rd_kafka_incremental_assign(rk, parts);
        failed = error != NULL;
        push_error_object(c, error, "incremental assign failed");
    } else {
        rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
        failed = err != RD_KAFKA_RESP_ERR_NO_ERROR;
        if (err) push_error_event(c, err, "assign failed", 0);
    }
    /* Partitions librdkafka did not take are not racecar's either: nothing
     * of them is tracked, committed or announced. */
    if (failed) return;
    /* Eager rebalances revoke everything first; partitions that come back keep
     * their pause, the others lose it now. */
    rd_kafka_topic_partition_list_t *repause = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);
    for (int i = 0; i < parts->cnt; i++) {
        rcn_partition *p = rcn_ptable_fetch(&c->table, parts->elems[i].topic, parts->elems[i].partition);
        if (!p) continue;
        p->assigned = 1;
        if (p->paused) rd_kafka_topic_partition_list_add(repause, p->topic, p->partition);
    }
    if (!cooperative) {
        resume_untracked(c, NULL);
        rcn_ptable_prune_unassigned(&c->table);
    }
    if (repause->cnt > 0) pause_partitions(c, repause, 1);
    rd_kafka_topic_partition_list_destroy(repause);
    push_partitions_event(c, RCN_EV_ASSIGNED, parts, 0);
}

static void on_revoke(rcn_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int cooperative) {
    int lost = rd_kafka_assignment_lost(rk);
    if (!lost) commit_revoked(c, parts);
    if (cooperative) resume_untracked(c, parts);
    c->table.epoch++;
    for (int i = 0; i < parts->cnt; i++) {
        rcn_partition *p = rcn_ptable_find(&c->table, parts->elems[i].topic, parts->elems[i].partition);
        if (!p) continue;
        if (cooperative) {
            rcn_ptable_remove(&c->table, p->topic, p->partition);
        } else {
            p->assigned = 0;
            p->revoked_epoch = c->table.epoch;
        }
    }
    if (cooperative) {
        push_error_object(c, rd_kafka_incremental_unassign(rk, parts), "incremental unassign failed");
    } else {
        rd_kafka_resp_err_t err = rd_kafka_assign(rk, NULL);
        if (err) push_error_event(c, err, "unassign failed", 0);
    }
    push_partitions_event(c, RCN_EV_REVOKED, parts, lost);
}

/* Before calling the rebalance callback, librdkafka pauses every assigned
 * partition and resumes the kept ones after it. In 2.0.x the batch consume
 * call that serves the callback can then drop messages it had already taken
 * from a kept partition while the fetch position moves past them. Kept
 * partitions are marked here and rewound by the runner after the poll.
 * librdkafka 2.1.0 fixed the batch APIs around pause and resume (#4208), so
 * later versions skip the rewind and its refetch. */
static int batch_consume_drops_kept_messages(void) {
    return rd_kafka_version() < 0x02010000;
}

static void mark_kept_partitions(rcn_consumer *c, const rd_kafka_topic_partition_list_t *changing) {
    for (size_t i = 0; i < c->table.len; i++) {
        rcn_partition *p = &c->table.items[i];
        if (!p->assigned || rd_kafka_topic_partition_list_find(changing, p->topic, p->partition)) continue;
        p->resync = 1;
        c->resync_pending = 1;
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque) {
    rcn_consumer *c = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (cooperative && batch_consume_drops_kept_messages()) mark_kept_partitions(c, parts);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(c, rk, parts, cooperative);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        on_revoke(c, rk, parts, cooperative);
    } else {
        /* Whatever went wrong, the rebalance must be acknowledged. */
        push_error_event(c, err, "rebalance failed", 0);
        if (cooperative) {
            push_error_object(c, rd_kafka_incremental_unassign(rk, parts), "unassign failed");
        } else {
            rd_kafka_resp_err_t unassign_err = rd_kafka_assign(rk, NULL);
            if (unassign_err) push_error_event(c, unassign_err, "unassign failed", 0);
        }
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    rcn_consumer *c = rd_kafka_opaque(rk);
    rcn_events_push(&c->events, rcn_event_log(level, fac, buf));
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    rcn_consumer *c = opaque;
    rcn_events_push(&c->events, rcn_event_client_error(rk, err, reason));
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
    rcn_consumer *c = opaque;
    rcn_events_push(&c->events, rcn_event_new(RCN_EV_STATS, NULL, json));
    return 0;
}

/* Every commit's outcome, librdkafka's auto-commits included: those are the
 * periodic commits (see consumer_initialize), so the runner learns here what
 * reached the broker. Served on the runner's thread. */
static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    rcn_consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    if (err) {
        push_error_event(c, err, "offset commit failed", 0);
        return;
    }
    if (offsets) rcn_offsets_committed(&c->table, offsets);
    c->last_commit_ms = rcn_monotonic_ms();
}

/* ---------- the batch ---------- */

/* Seeks every partition with messages left in the batch back to the first of
 * them: their offsets were never stored, and without the seek the next poll
 * would go on after them and a later store would skip them. Paused
 * partitions seek on resume anyway; a lost assignment belongs to others. */
static void rewind_left_over(rcn_consumer *c) {
    if (c->state != RCN_HANDLE_OPEN || !c->rk || rd_kafka_assignment_lost(c->rk)) return;
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < c->batch_len; i++) {
        rd_kafka_message_t *rkm = c->batch[i];
        if (!rkm || rkm->err || !rkm->rkt) continue;
        const char *topic = rd_kafka_topic_name(rkm->rkt);
        rcn_partition *p = rcn_ptable_find(&c->table, topic, rkm->partition);
        if (!p || !p->assigned || p->paused) continue;
        if (!list) list = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(list, topic, rkm->partition);
        if (!tp) rd_kafka_topic_partition_list_add(list, topic, rkm->partition)->offset = rkm->offset;
        else if (rkm->offset < tp->offset) tp->offset = rkm->offset;
    }
    if (!list) return;
    for (int i = 0; i < list->cnt; i++) {
        rcn_partition *p = rcn_ptable_find(&c->table, list->elems[i].topic, list->elems[i].partition);
        if (p) p->next_offset = list->elems[i].offset;
    }
    push_error_object(c, rd_kafka_seek_partitions(c->rk, list, 0), "rewinding an interrupted batch failed");
    rd_kafka_topic_partition_list_destroy(list);
}

static void drop_batch(rcn_consumer *c, int rewind) {
    if (rewind) rewind_left_over(c);
    for (size_t i = 0; i < c->batch_len; i++) {
        if (c->batch[i]) rd_kafka_message_destroy(c->batch[i]);
        c->batch[i] = NULL;
    }
    c->batch_len = 0;
}

void rcn_consumer_destroy_batch(rcn_consumer *c) {
    drop_batch(c, 1);
}

/* ---------- the TypedData object ---------- */

static int inherited(const rcn_consumer *c) {
    return c->state == RCN_HANDLE_INHERITED || (c->rk && c->owner_pid != getpid());
}

/* A forked child inherited this handle; librdkafka's threads live only in
 * the parent, so destroying it here would hang. Forget it (a small leak in
 * the child beats a hang). */
static void forget_inherited(rcn_consumer *c) {
    c->batch_len = 0;
    rcn_borrowers_forget_all(&c->borrowers);
    rcn_tqueues_forget_all(&c->tqueues);
    c->queue = NULL;
    c->commit_queue = NULL;
    c->close_queue = NULL;
    c->commit_list = NULL;
    c->commit_event = NULL;
    c->committed_list = NULL;
    c->rk = NULL;
    c->state = RCN_HANDLE_INHERITED;
}

/* Destroys the queues and the handle: pure C, never with the GVL held (a
 * closing call runs it through rcn_without_gvl, a collected object on the
 * reaper thread). */
static void destroy_handle(rcn_consumer *c, int flags) {
    rcn_tqueues_destroy_all(&c->tqueues);
    if (c->commit_event) rd_kafka_event_destroy(c->commit_event);
    if (c->commit_list) rd_kafka_topic_partition_list_destroy(c->commit_list);
    if (c->committed_list) rd_kafka_topic_partition_list_destroy(c->committed_list);
    c->commit_event = NULL;
    c->commit_list = NULL;
    c->committed_list = NULL;
    rd_kafka_queue_t *queues[3] = {c->close_queue, c->commit_queue, c->queue};
    c->close_queue = c->commit_queue = c->queue = NULL;
    for (int i = 0; i < 3; i++) {
        if (queues[i]) rd_kafka_queue_destroy(queues[i]);
    }
    if (c->rk) {
        rd_kafka_t *rk = c->rk;
        c->rk = NULL;
        rd_kafka_destroy_flags(rk, flags);
    }
}

/* What is left once the handle is gone: plain C memory. */
static void free_state(rcn_consumer *c) {
    rcn_events_destroy(&c->events);
    rcn_ptable_destroy(&c->table);
    rcn_tqueues_free(&c->tqueues);
    for (int i = 0; i < c->reset_count; i++) free(c->reset_topics[i]);
    free(c->reset_topics);
    free(c->reset_beginning);
    free(c->batch);
    free(c);
}

/* On the reaper thread: the librdkafka callbacks use c until the handle is
 * destroyed, so c is freed only after that. No network wait: the group
 * notices the member is gone when its session times out. */
static void reap_consumer(void *arg) {
    rcn_consumer *c = arg;
    destroy_handle(c, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    free_state(c);
}

/* dfree runs inside a GC sweep with the GVL held: it must not block, so the
 * handle goes to the reaper. Messages handed to Ruby are copied out first
 * (their blocks are Ruby objects and point into this struct). */
static void consumer_free(void *ptr) {
    rcn_consumer *c = ptr;
    if (inherited(c)) forget_inherited(c);
    drop_batch(c, 0);
    rcn_borrowers_release_all(&c->borrowers);
    if (c->rk || c->queue) {
        if (rcn_reaper_submit(reap_consumer, c) == 0) return;
        reap_consumer(c); /* no reaper thread (out of memory): better late than leaked */
        return;
    }
    free_state(c);
}

static void consumer_mark(void *ptr) {
    rcn_consumer *c = ptr;
    rb_gc_mark_movable(c->dispatcher);
    rb_gc_mark_movable(c->process_receiver);
}

static void consumer_compact(void *ptr) {
    rcn_consumer *c = ptr;
    c->dispatcher = rb_gc_location(c->dispatcher);
    c->process_receiver = rb_gc_location(c->process_receiver);
}

static size_t consumer_size(const void *ptr) {
    const rcn_consumer *c = ptr;
    return sizeof(*c) + c->batch_cap * sizeof(void *) + c->table.cap * sizeof(rcn_partition) +
           c->tqueues.cap * sizeof(rcn_topic_queue);
}

/* FREE_IMMEDIATELY is right because consumer_free never blocks (above). */
static const rb_data_type_t consumer_type = {
    "Racecar::Native::Consumer",
    {consumer_mark, consumer_free, consumer_size, consumer_compact},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY
};

/* Called by a librdkafka thread, with a topic queue locked, when the queue
 * gets its first message: wakes a poll waiting on the consumer queue. The
 * yield is remembered, so a message arriving just before the wait starts is
 * not missed. */
static void topic_queue_ready(rd_kafka_t *rk, void *opaque) {
    (void)rk;
    rcn_consumer *c = opaque;
    if (c->queue) rd_kafka_queue_yield(c->queue);
}

/* The struct is plain malloc memory, not Ruby's: the reaper thread frees it,
 * without the GVL, once the handle whose callbacks use it is gone. */
static VALUE consumer_alloc(VALUE klass) {
    VALUE obj = TypedData_Wrap_Struct(klass, &consumer_type, NULL);
    rcn_consumer *c = calloc(1, sizeof(*c));
    if (!c) rb_raise(rb_eNoMemError, "out of memory for a consumer");
    rcn_events_init(&c->events, 10000);
    rcn_ptable_init(&c->table);
    rcn_borrowers_init(&c->borrowers);
    rcn_tqueues_init(&c->tqueues, topic_queue_ready, c);
    c->dispatcher = Qnil;
    c->process_receiver = Qnil;
    c->state = RCN_HANDLE_UNINITIALIZED;
    c->commit_interval_ms = 10000;
    c->pause.timeout_ms = 10000;
    RTYPEDDATA_DATA(obj) = c;
    return obj;
}

/* The one acquire check of every entry point, and again after any call into
 * Ruby (which may have closed the consumer or forked). */
struct rcn_consumer *rcn_consumer_get(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    if (inherited(c)) {
        forget_inherited(c);
        rb_raise(rcn_eError, "the consumer belongs to the parent process (forked)");
    }
    if (c->state != RCN_HANDLE_OPEN || !c->rk) rb_raise(rcn_eError, "the consumer is closed");
    return c;
}

/* A blocking call from outside the runner: close waits for it to end. */
static rcn_consumer *enter_call(VALUE self) {
    rcn_consumer *c = rcn_consumer_get(self);
    c->in_flight++;
    return c;
}

static VALUE leave_call(VALUE data) {
    ((rcn_consumer *)data)->in_flight--;
    return Qnil;
}

static VALUE opt(VALUE options, const char *name) {
    return NIL_P(options) ? Qnil : rb_hash_aref(options, ID2SYM(rb_intern(name)));
}

static int64_t seconds_option(VALUE options, const char *name, int64_t fallback) {
    VALUE seconds = opt(options, name);
    return NIL_P(seconds) ? fallback : rcn_seconds_to_ms(seconds, name);
}

static int add_start_position(VALUE topic, VALUE beginning, VALUE pairs) {
    VALUE name = rb_obj_as_string(topic);
    StringValueCStr(name); /* refuses a NUL byte now, before any C copy */
    rb_ary_push(pairs, name);
    rb_ary_push(pairs, RTEST(beginning) ? Qtrue : Qfalse);
    return ST_CONTINUE;
}

/* :start_positions as [name, beginning, ...] Strings and booleans, or nil.
 * Converting the names runs Ruby (to_s), so it happens before any C state
 * changes. */
static VALUE start_position_pairs(VALUE positions) {
    if (NIL_P(positions)) return Qnil;
    if (!RB_TYPE_P(positions, T_HASH))
        rb_raise(rb_eTypeError, "start_positions must be a Hash of topic => start_from_beginning, not %" PRIsVALUE,
                 rb_obj_class(positions));
    VALUE pairs = rb_ary_new();
    rb_hash_foreach(positions, add_start_position, pairs);
    return pairs;
}

static void free_start_positions(rcn_consumer *c) {
    for (int i = 0; i < c->reset_count; i++) free(c->reset_topics[i]);
    free(c->reset_topics);
    free(c->reset_beginning);
    c->reset_topics = NULL;
    c->reset_beginning = NULL;
    c->reset_count = 0;
}

/* Replaces the start positions with start_position_pairs' (runs no Ruby).
 * Returns 0, or -1 when out of memory (the consumer then has none). */
static int set_start_positions(rcn_consumer *c, VALUE pairs) {
    free_start_positions(c);
    long n = NIL_P(pairs) ? 0 : RARRAY_LEN(pairs) / 2;
    if (n == 0) return 0;
    char **topics = calloc((size_t)n, sizeof(char *));
    int *beginning = calloc((size_t)n, sizeof(int));
    int count = 0;
    if (topics && beginning) {
        for (; count < n; count++) {
            VALUE name = RARRAY_AREF(pairs, 2 * count);
            topics[count] = strndup(RSTRING_PTR(name), (size_t)RSTRING_LEN(name));
            if (!topics[count]) break;
            beginning[count] = RARRAY_AREF(pairs, 2 * count + 1) == Qtrue;
        }
    }
    if (!topics || !beginning || count < n) {
        for (int i = 0; i < count; i++) free(topics[i]);
        free(topics);
        free(beginning);
        return -1;
    }
    c->reset_topics = topics;
    c->reset_beginning = beginning;
    c->reset_count = (int)n;
    return 0;
}

/* Native::Consumer.new(properties, options)
 * options: :start_positions ({topic => start_from_beginning}, only when they
 * differ), :commit_interval, :synchronous_commits, :pause_timeout,
 * :pause_with_exponential_backoff, :max_pause_timeout (seconds).
 * Every argument is converted first (which runs Ruby: to_s, a Hash's default
 * proc) and the consumer's C state is changed only after, so a conversion
 * that raises, or that calls initialize itself, leaves nothing half set. */
static VALUE consumer_initialize(int argc, VALUE *argv, VALUE self) {
    VALUE properties, options;
    rb_scan_args(argc, argv, "11", &properties, &options);
    if (!NIL_P(options)) Check_Type(options, T_HASH);
    Check_Type(properties, T_HASH);
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    if (c->rk) rb_raise(rcn_eError, "already initialized");

    VALUE positions = start_position_pairs(opt(options, "start_positions"));
    int64_t commit_interval_ms = seconds_option(options, "commit_interval", 10000);
    int sync_commits = RTEST(opt(options, "synchronous_commits"));
    int64_t pause_timeout_ms = seconds_option(options, "pause_timeout", 10000);
    int exponential = RTEST(opt(options, "pause_with_exponential_backoff"));
    int64_t max_pause_timeout_ms = seconds_option(options, "max_pause_timeout", 0);
    rd_kafka_conf_t *conf = rcn_conf_from_hash(properties);
    if (c->rk) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eError, "already initialized (while its arguments were converted)");
    }
    if (set_start_positions(c, positions) != 0) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rb_eNoMemError, "out of memory for the start positions");
    }
    RB_GC_GUARD(positions);
    c->commit_interval_ms = commit_interval_ms;
    c->sync_commits = sync_commits;
    c->pause.timeout_ms = pause_timeout_ms < 0 ? -1 : pause_timeout_ms;
    c->pause.exponential = exponential;
    c->pause.max_timeout_ms = max_pause_timeout_ms;

    char errstr[512];
    /* racecar stores offsets itself, only after processing. The periodic
     * commits of what it stored are librdkafka's auto-commits, unless they
     * must be synchronous: librdkafka skips them while the group rebalances,
     * where a commit of ours met the second join of a cooperative rebalance,
     * failed with ILLEGAL_GENERATION and made librdkafka 2.0.x drop the whole
     * assignment as lost (everything since the last commit was processed
     * again by the next owners). */
    char interval[32];
    snprintf(interval, sizeof(interval), "%lld", (long long)c->commit_interval_ms);
    if (rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", c->sync_commits ? "false" : "true", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "auto.commit.interval.ms", interval, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eConfigError, "%s", errstr);
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, offset_commit_cb);

    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eConfigError, "could not create the Kafka consumer: %s", errstr);
    }
    c->rk = rk;
    rd_kafka_poll_set_consumer(rk);
    c->queue = rd_kafka_queue_get_consumer(rk);
    c->state = RCN_HANDLE_OPEN;
    c->owner_pid = getpid();
    c->last_commit_ms = rcn_monotonic_ms();
    return self;
}

static VALUE consumer_subscribe(VALUE self, VALUE topics) {
    rcn_consumer *c = rcn_consumer_get(self);
    Check_Type(topics, T_ARRAY);
    /* Every name is converted (which may raise) before the list exists. */
    VALUE names = rb_ary_new_capa(RARRAY_LEN(topics));
    for (long i = 0; i < RARRAY_LEN(topics); i++) {
        VALUE name = rb_obj_as_string(RARRAY_AREF(topics, i));
        StringValueCStr(name);
        rb_ary_push(names, name);
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)RARRAY_LEN(names));
    for (long i = 0; i < RARRAY_LEN(names); i++)
        rd_kafka_topic_partition_list_add(list, RSTRING_PTR(RARRAY_AREF(names, i)), RD_KAFKA_PARTITION_UA);
    RB_GC_GUARD(names);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) rcn_raise_kafka(rcn_eKafkaError, err, "subscribe failed");
    return self;
}

/* ---------- polling ---------- */

typedef struct {
    rcn_consumer *c;
    size_t max;
    int timeout_ms;
} poll_args;

static size_t consume_queue(rd_kafka_queue_t *queue, int timeout_ms, rd_kafka_message_t **out, size_t max) {
    ssize_t n = rd_kafka_consume_batch_queue(queue, timeout_ms, out, max);
    return n > 0 ? (size_t)n : 0;
}

/* The consumer queue first: its callbacks (rebalances) route new partitions
 * before they are read, and it carries messages only for a partition that
 * could not be routed. Then every topic queue without waiting; only when all
 * were empty, a wait on the consumer queue, which the topic queues wake
 * (topic_queue_ready). Every message taken is counted in c->batch_len here,
 * before the GVL and any interrupt check come back: the handle owns it. */
static void *poll_nogvl(void *data) {
    poll_args *a = data;
    rcn_consumer *c = a->c;
    size_t before = c->batch_len;
    c->batch_len += consume_queue(c->queue, 0, c->batch + c->batch_len, a->max - c->batch_len);
    c->batch_len += rcn_tqueues_take(&c->tqueues, c->batch + c->batch_len, a->max - c->batch_len);
    if (c->batch_len == before && a->timeout_ms > 0) {
        c->batch_len += consume_queue(c->queue, a->timeout_ms, c->batch + c->batch_len, a->max - c->batch_len);
        c->batch_len += rcn_tqueues_take(&c->tqueues, c->batch + c->batch_len, a->max - c->batch_len);
    }
    return NULL;
}

static void poll_ubf(void *data) {
    rcn_consumer *c = data;
    /* Wakes the blocked consume call; the caller then sees the interrupt. */
    if (c->queue) rd_kafka_queue_yield(c->queue);
}

/* Ruby notices signals only when a blocking call returns, so long waits are
 * served in slices of at most this long, with an interrupt check between. */
#define POLL_SLICE_MS 500

void rcn_consumer_poll_into_batch(rcn_consumer *c, size_t max, int timeout_ms) {
    rcn_consumer_destroy_batch(c);
    if (max == 0) max = 1;
    if (c->batch_cap < max) {
        rd_kafka_message_t **batch = realloc(c->batch, max * sizeof(*batch));
        if (!batch) rb_raise(rb_eNoMemError, "out of memory for a batch of %zu messages", max);
        c->batch = batch;
        c->batch_cap = max;
    }
    int64_t deadline = rcn_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t remaining = deadline - rcn_monotonic_ms();
        if (remaining < 0) remaining = 0;
        poll_args a = {c, max, (int)(remaining < POLL_SLICE_MS ? remaining : POLL_SLICE_MS)};
        int ran = rcn_without_gvl(poll_nogvl, &a, poll_ubf, c);
        if (ran && (c->batch_len >= max || c->stop_requested || c->state != RCN_HANDLE_OPEN ||
                    rcn_monotonic_ms() >= deadline))
            break;
        /* May raise (Thread#kill, Thread#raise, Timeout, a signal): what was
         * taken is in the batch, which the caller's ensure destroys after
         * rewinding its partitions. */
        rb_thread_check_ints();
    }
}

typedef struct {
    rcn_consumer *c;
    VALUE result;
    size_t max;
    int timeout_ms;
} convert_args;

static VALUE poll_and_convert(VALUE data) {
    convert_args *a = (convert_args *)data;
    rcn_consumer *c = a->c;
    rcn_consumer_poll_into_batch(c, a->max, a->timeout_ms);
    for (size_t i = 0; i < c->batch_len; i++) {
        rd_kafka_message_t *rkm = c->batch[i];
        if (rkm->err) {
            rcn_consumer_push_message_error(c, rkm);
        } else {
            rb_ary_push(a->result, rcn_message_new(&c->batch[i], 0));
        }
        if (c->batch[i]) rd_kafka_message_destroy(rkm);
        c->batch[i] = NULL;
    }
    return a->result;
}

static VALUE end_poll(VALUE data) {
    rcn_consumer *c = ((convert_args *)data)->c;
    rcn_consumer_destroy_batch(c);
    c->polling = 0;
    c->in_flight--;
    return Qnil;
}

/* poll_batch(max_messages, timeout_ms) -> [Racecar::Message]: a plain poll
 * without offset handling, for tools and specs; the runner has its own loop. */
static VALUE consumer_poll_batch(VALUE self, VALUE max, VALUE timeout_ms) {
    size_t max_messages = rcn_count_arg(max, "max_messages");
    int timeout = NUM2INT(timeout_ms);
    rcn_consumer *c = rcn_consumer_get(self);
    if (c->running) rb_raise(rcn_eError, "the consumer is being run by a runner");
    if (c->polling) rb_raise(rcn_eError, "another thread is polling this consumer");
    convert_args a = {c, rb_ary_new(), max_messages, timeout};
    /* The batch is one per handle: one poll_batch at a time (the runner
     * excludes them all). */
    c->polling = 1;
    c->in_flight++;
    return rb_ensure(poll_and_convert, (VALUE)&a, end_poll, (VALUE)&a);
}

static VALUE consumer_drain_events(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    size_t dropped = 0;
    rcn_event *list = rcn_events_take(&c->events, &dropped);
    VALUE events = rcn_events_to_ruby(list);
    if (dropped) {
        rb_ary_push(events, rb_ary_new_from_args(4, ID2SYM(rb_intern("log")), INT2NUM(4), rb_str_new_cstr("RACECAR"),
                                                 rb_sprintf("%zu librdkafka events were dropped because nobody read them", dropped)));
    }
    return events;
}

/* ---------- offsets, pause, seek ---------- */

/* A synchronous commit is an asynchronous one whose result this thread waits
 * for on the consumer's own commit queue: a wait that the unblocking
 * function can wake (rd_kafka_commit(..., 0) cannot be). The list and the
 * result belong to the handle while the commit is in flight, so a commit
 * interrupted here is finished (and its result applied) by the next commit,
 * by close, or dropped with the handle. */
#define COMMIT_WAIT_SLICE_MS 500

static void *commit_wait_nogvl(void *data) {
    rcn_consumer *c = data;
    c->commit_event = rd_kafka_queue_poll(c->commit_queue, COMMIT_WAIT_SLICE_MS);
    return NULL;
}

static void commit_wait_ubf(void *data) {
    rcn_consumer *c = data;
    if (c->commit_queue) rd_kafka_queue_yield(c->commit_queue);
}

static void apply_commit_result(rcn_consumer *c) {
    rd_kafka_event_t *ev = c->commit_event;
    rd_kafka_topic_partition_list_t *list = c->commit_list;
    c->commit_event = NULL;
    c->commit_list = NULL;
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) push_error_event(c, err, "offset commit failed", 0);
    else rcn_offsets_committed(&c->table, list);
    rd_kafka_event_destroy(ev);
    rd_kafka_topic_partition_list_destroy(list);
}

/* Waits for the sync commit in flight, if any. May raise (interrupts). */
static void finish_sync_commit(rcn_consumer *c) {
    while (c->commit_list) {
        rcn_without_gvl(commit_wait_nogvl, c, commit_wait_ubf, c);
        if (c->commit_event && rd_kafka_event_type(c->commit_event) != RD_KAFKA_EVENT_OFFSET_COMMIT) {
            rd_kafka_event_destroy(c->commit_event);
            c->commit_event = NULL;
        }
        if (c->commit_event) {
            apply_commit_result(c);
            return;
        }
        rb_thread_check_ints();
    }
}

static void commit_sync(rcn_consumer *c) {
    finish_sync_commit(c);
    rd_kafka_topic_partition_list_t *list = rcn_offsets_to_commit(&c->table, 0, NULL);
    if (!list) return;
    if (!c->commit_queue) c->commit_queue = rd_kafka_queue_new(c->rk);
    c->commit_list = list;
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(c->rk, list, c->commit_queue, NULL, NULL);
    if (err) {
        c->commit_list = NULL;
        rd_kafka_topic_partition_list_destroy(list);
        if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) push_error_event(c, err, "offset commit failed", 0);
        return;
    }
    finish_sync_commit(c);
}

/* Once per commit interval. librdkafka's auto-commits send what changed;
 * this re-commits offsets that did not change, so that a quiet group's
 * offsets are refreshed too, but only while nothing is waiting to be
 * committed: should that commit meet a rebalance and cost the assignment,
 * there is nothing to process again. */
void rcn_consumer_commit_due(rcn_consumer *c) {
    if (rcn_monotonic_ms() - c->last_commit_ms < c->commit_interval_ms) return;
    if (c->sync_commits) {
        rcn_consumer_commit(c, 1);
        return;
    }
    if (!rcn_offsets_uncommitted(&c->table)) rcn_consumer_commit(c, 0);
}

void rcn_consumer_commit(rcn_consumer *c, int sync) {
    c->last_commit_ms = rcn_monotonic_ms();
    if (sync) {
        commit_sync(c);
        return;
    }
    rd_kafka_topic_partition_list_t *list = rcn_offsets_to_commit(&c->table, 0, NULL);
    if (!list) return;
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, list, 1);
    if (err) push_error_event(c, err, "offset commit failed", 0);
    else rcn_offsets_committed(&c->table, list);
    rd_kafka_topic_partition_list_destroy(list);
}

typedef struct {
    rcn_consumer *c;
    int sync;
} commit_call;

static VALUE commit_body(VALUE data) {
    commit_call *a = (commit_call *)data;
    rcn_consumer_commit(a->c, a->sync);
    return Qnil;
}

static VALUE consumer_commit(int argc, VALUE *argv, VALUE self) {
    VALUE sync;
    rb_scan_args(argc, argv, "01", &sync);
    commit_call a = {enter_call(self), argc == 0 ? 1 : RTEST(sync)};
    return rb_ensure(commit_body, (VALUE)&a, leave_call, (VALUE)a.c);
}

rd_kafka_resp_err_t rcn_consumer_store_offsets(rcn_consumer *c, rd_kafka_topic_partition_list_t *list, int report) {
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        /* INVALID_ARG leaves the partitions' codes unset: nothing was stored. */
        rd_kafka_resp_err_t part_err = err == RD_KAFKA_RESP_ERR__INVALID_ARG ? err : tp->err;
        if (part_err) {
            if (!report) continue;
            char text[512];
            snprintf(text, sizeof(text), "offset %lld of %s [%d] was not stored: %s", (long long)tp->offset, tp->topic,
                     (int)tp->partition, rd_kafka_err2str(part_err));
            /* Revoked meanwhile is expected in a rebalance: its new owner
             * processes those messages again. */
            if (part_err == RD_KAFKA_RESP_ERR__STATE) rcn_events_push(&c->events, rcn_event_log(4, "RACECAR", text));
            else push_error_event(c, part_err, text, 0);
            continue;
        }
        rcn_partition *p = rcn_ptable_find(&c->table, tp->topic, tp->partition);
        if (p && p->stored_offset < tp->offset) p->stored_offset = tp->offset;
    }
    return err;
}

/* store_offset(topic, partition, next_offset): marks everything before
 * next_offset processed; the next commit sends it. Raises when librdkafka
 * refuses (the partition is not assigned), storing nothing. */
static VALUE consumer_store_offset(VALUE self, VALUE topic, VALUE partition, VALUE offset) {
    rcn_consumer *c = rcn_consumer_get(self);
    const char *name = StringValueCStr(topic);
    /* Converted first: a raise after the list exists would leak it. */
    int32_t part = NUM2INT(partition);
    int64_t next_offset = NUM2LL(offset);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, name, part)->offset = next_offset;
    rd_kafka_resp_err_t err = rcn_consumer_store_offsets(c, list, 0);
    if (!err) err = list->elems[0].err;
    rd_kafka_topic_partition_list_destroy(list);
    if (err) rcn_raise_kafka(rcn_eKafkaError, err, "storing the offset failed");
    return Qnil;
}

void rcn_consumer_pause_one(rcn_consumer *c, const char *topic, int32_t partition, int pause) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, partition);
    pause_partitions(c, list, pause);
    rd_kafka_topic_partition_list_destroy(list);
}

void rcn_consumer_seek_one(rcn_consumer *c, const char *topic, int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, partition)->offset = offset;
    /* Asynchronous: the fetcher applies it in order with the pause. */
    push_error_object(c, rd_kafka_seek_partitions(c->rk, list, 0), "seek failed");
    rd_kafka_topic_partition_list_destroy(list);
}

static VALUE consumer_assignment(VALUE self) {
    rcn_consumer *c = rcn_consumer_get(self);
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->rk, &list);
    if (err) rcn_raise_kafka(rcn_eKafkaError, err, "reading the assignment failed");
    VALUE hash = rcn_partition_list_to_hash(list); /* allocation may raise: fine, list is tiny */
    rd_kafka_topic_partition_list_destroy(list);
    return hash;
}

/* rd_kafka_committed cannot be woken, so it is asked in slices, with an
 * interrupt check between; each slice asks the coordinator again. */
#define COMMITTED_SLICE_MS 1000

typedef struct {
    rcn_consumer *c;
    int timeout_ms;
    rd_kafka_resp_err_t err;
} committed_args;

static void *committed_nogvl(void *data) {
    committed_args *a = data;
    a->err = rd_kafka_committed(a->c->rk, a->c->committed_list, a->timeout_ms);
    return NULL;
}

rd_kafka_resp_err_t rcn_consumer_committed(rcn_consumer *c, rd_kafka_topic_partition_list_t *list, int timeout_ms) {
    /* Left by a call an interrupt ended: its caller is gone. */
    if (c->committed_list) rd_kafka_topic_partition_list_destroy(c->committed_list);
    c->committed_list = list;
    int64_t deadline = rcn_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    committed_args a = {c, 0, RD_KAFKA_RESP_ERR__TIMED_OUT};
    for (;;) {
        int64_t remaining = deadline - rcn_monotonic_ms();
        if (remaining < 0) remaining = 0;
        a.timeout_ms = (int)(remaining < COMMITTED_SLICE_MS ? remaining : COMMITTED_SLICE_MS);
        int ran = rcn_without_gvl(committed_nogvl, &a, NULL, NULL);
        if (ran && a.err != RD_KAFKA_RESP_ERR__TIMED_OUT) break;
        if (rcn_monotonic_ms() >= deadline || c->state != RCN_HANDLE_OPEN) break;
        rb_thread_check_ints(); /* may raise: the handle keeps list */
    }
    c->committed_list = NULL;
    return a.err;
}

static int add_committed_query(VALUE topic, VALUE partitions, VALUE data) {
    rd_kafka_topic_partition_list_t *list = (rd_kafka_topic_partition_list_t *)data;
    VALUE name = rb_obj_as_string(topic);
    partitions = rb_Array(partitions);
    for (long i = 0; i < RARRAY_LEN(partitions); i++)
        rd_kafka_topic_partition_list_add(list, StringValueCStr(name), NUM2INT(RARRAY_AREF(partitions, i)));
    return ST_CONTINUE;
}

static VALUE fill_committed_query(VALUE data) {
    VALUE *args = (VALUE *)data;
    rb_hash_foreach(args[0], add_committed_query, args[1]);
    return Qnil;
}

typedef struct {
    rcn_consumer *c;
    VALUE query;
    int timeout_ms;
} committed_call;

static VALUE committed_body(VALUE data) {
    committed_call *a = (committed_call *)data;
    rcn_consumer *c = a->c;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    /* A bad topic or partition raises while the list is filled: free it. */
    VALUE args[2] = {a->query, (VALUE)list};
    int state = 0;
    rb_protect(fill_committed_query, (VALUE)args, &state);
    if (state || c->state != RCN_HANDLE_OPEN) {
        /* The names' to_s ran Ruby, which may have closed the consumer. */
        rd_kafka_topic_partition_list_destroy(list);
        if (state) rb_jump_tag(state);
        rb_raise(rcn_eError, "the consumer is closed");
    }
    rd_kafka_resp_err_t err = rcn_consumer_committed(c, list, a->timeout_ms);
    if (err) {
        rd_kafka_topic_partition_list_destroy(list);
        rcn_raise_kafka(rcn_eKafkaError, err, "reading committed offsets failed");
    }
    c->committed_list = list; /* the handle's while Ruby objects are built */
    VALUE result = rb_hash_new();
    for (int i = 0; i < list->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &list->elems[i];
        VALUE topic = rcn_topic_string(tp->topic);
        VALUE per_topic = rb_hash_aref(result, topic);
        if (NIL_P(per_topic)) {
            per_topic = rb_hash_new();
            rb_hash_aset(result, topic, per_topic);
        }
        rb_hash_aset(per_topic, INT2NUM(tp->partition), tp->offset >= 0 ? LL2NUM(tp->offset) : Qnil);
    }
    c->committed_list = NULL;
    rd_kafka_topic_partition_list_destroy(list);
    return result;
}

/* committed({topic => [partitions]}, timeout_seconds) -> {topic => {partition
 * => offset or nil}}: what the group has committed, asked of the coordinator
 * without joining the group (operators and specs use it to see progress). */
static VALUE consumer_committed(VALUE self, VALUE topic_partitions, VALUE timeout) {
    rcn_consumer_get(self);
    Check_Type(topic_partitions, T_HASH);
    int timeout_ms = rcn_seconds_to_timeout_ms(timeout, "timeout");
    committed_call a = {enter_call(self), topic_partitions, timeout_ms};
    return rb_ensure(committed_body, (VALUE)&a, leave_call, (VALUE)a.c);
}

/* [[topic, partition, paused_for_seconds, retries_count], ...] */
static VALUE consumer_paused_partitions(VALUE self) {
    rcn_consumer *c = rcn_consumer_get(self);
    VALUE result = rb_ary_new();
    int64_t now = rcn_monotonic_ms();
    for (size_t i = 0; i < c->table.len; i++) {
        rcn_partition *p = &c->table.items[i];
        if (!p->paused) continue;
        rb_ary_push(result, rb_ary_new_from_args(4, rcn_topic_string(p->topic), INT2NUM(p->partition),
                                                 DBL2NUM((double)(now - p->paused_at_ms) / 1000.0), INT2NUM(p->failures)));
    }
    return result;
}

/* ---------- stop and close ---------- */

/* Safe from a signal trap or another thread: sets a flag and wakes the poll. */
static VALUE consumer_stop(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    c->stop_requested = 1;
    if (c->queue) rd_kafka_queue_yield(c->queue);
    return Qnil;
}

/* While closing, librdkafka forwards the group queue here, messages already
 * fetched included. A callback-only poll aborts the process on those (librdkafka
 * asserts that every op was handled), so serve the queue as a batch consume:
 * callbacks (rebalance) run as usual and messages come back to be dropped.
 * Their offsets were never stored: the partition's next owner reads them. */
#define CLOSE_DRAIN_BATCH 256
#define CLOSE_TIMEOUT_MS 60000

static void *close_poll_nogvl(void *data) {
    rcn_consumer *c = data;
    rd_kafka_message_t *messages[CLOSE_DRAIN_BATCH];
    ssize_t n = rd_kafka_consume_batch_queue(c->close_queue, 100, messages, CLOSE_DRAIN_BATCH);
    for (ssize_t i = 0; i < n; i++) rd_kafka_message_destroy(messages[i]);
    return NULL;
}

static void close_poll_ubf(void *data) {
    rcn_consumer *c = data;
    if (c->close_queue) rd_kafka_queue_yield(c->close_queue);
}

static void *destroy_nogvl(void *data) {
    destroy_handle(data, 0);
    return NULL;
}

/* Wakes calls of other threads blocked in librdkafka; they see CLOSING. */
static void wake_blocked_calls(rcn_consumer *c) {
    if (c->queue) rd_kafka_queue_yield(c->queue);
    if (c->commit_queue) rd_kafka_queue_yield(c->commit_queue);
}

/* close: commits what was processed, leaves the group (served in short
 * chunks so the Ruby process stays responsive), frees the handle. A state
 * machine: every step is kept in the handle, so a close an interrupt ended
 * goes on where it stopped when called again (or the reaper finishes it once
 * the object is collected). Waits for the blocking calls of other threads. */
static VALUE consumer_close(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    if (inherited(c)) {
        forget_inherited(c); /* never poll a handle whose threads are in the parent */
        return Qnil;
    }
    if (c->state != RCN_HANDLE_OPEN && c->state != RCN_HANDLE_CLOSING) return Qnil;
    if (!c->rk) {
        c->state = RCN_HANDLE_CLOSED;
        return Qnil;
    }
    if (c->running) rb_raise(rcn_eError, "stop the runner before closing its consumer");
    c->state = RCN_HANDLE_CLOSING;
    while (c->in_flight > 0) {
        wake_blocked_calls(c);
        rb_thread_wait_for(rb_time_interval(DBL2NUM(0.005)));
    }
    drop_batch(c, 0);
    rcn_borrowers_release_all(&c->borrowers);
    if (!c->close_committed) {
        commit_sync(c);
        c->close_committed = 1;
    }
    if (!c->close_queue && !c->close_failed) {
        c->close_queue = rd_kafka_queue_new(c->rk);
        c->close_deadline_ms = rcn_monotonic_ms() + CLOSE_TIMEOUT_MS;
        rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, c->close_queue);
        if (error) {
            c->close_failed = 1;
            push_error_object(c, error, "closing the consumer failed");
        }
    }
    while (!c->close_failed && !rd_kafka_consumer_closed(c->rk) && rcn_monotonic_ms() < c->close_deadline_ms) {
        rcn_without_gvl(close_poll_nogvl, c, close_poll_ubf, c);
        rb_thread_check_ints();
    }
    while (c->rk) {
        if (!rcn_without_gvl(destroy_nogvl, c, NULL, NULL)) rb_thread_check_ints();
    }
    c->state = RCN_HANDLE_CLOSED;
    return Qnil;
}

/* How many blocks of handed-out messages still hold librdkafka's messages
 * (bounded by message_block.c; a diagnostic for memory questions and specs). */
static VALUE consumer_borrowing_blocks(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    return SIZET2NUM(c->borrowers.blocks);
}

/* True once close finished, and in a forked child (whose copy is unusable);
 * false while a close is unfinished, so callers close again. */
static VALUE consumer_closed_p(VALUE self) {
    rcn_consumer *c = rb_check_typeddata(self, &consumer_type);
    if (inherited(c)) forget_inherited(c);
    return c->state == RCN_HANDLE_OPEN || c->state == RCN_HANDLE_CLOSING ? Qfalse : Qtrue;
}

void rcn_consumer_init(VALUE mNative) {
    cConsumer = rb_define_class_under(mNative, "Consumer", rb_cObject);
    rb_define_alloc_func(cConsumer, consumer_alloc);
    rb_define_method(cConsumer, "initialize", consumer_initialize, -1);
    rb_define_method(cConsumer, "subscribe", consumer_subscribe, 1);
    rb_define_method(cConsumer, "poll_batch", consumer_poll_batch, 2);
    rb_define_method(cConsumer, "drain_events", consumer_drain_events, 0);
    rb_define_method(cConsumer, "commit", consumer_commit, -1);
    rb_define_method(cConsumer, "store_offset", consumer_store_offset, 3);
    rb_define_method(cConsumer, "assignment", consumer_assignment, 0);
    rb_define_method(cConsumer, "committed", consumer_committed, 2);
    rb_define_method(cConsumer, "paused_partitions", consumer_paused_partitions, 0);
    rb_define_method(cConsumer, "stop", consumer_stop, 0);
    rb_define_method(cConsumer, "close", consumer_close, 0);
    rb_define_method(cConsumer, "closed?", consumer_closed_p, 0);
    rb_define_method(cConsumer, "borrowing_blocks", consumer_borrowing_blocks, 0);
    rcn_runner_init(cConsumer);
}
