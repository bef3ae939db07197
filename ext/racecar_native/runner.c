/* The main loop of a consumer (Racecar::Native::Consumer#run): poll a batch
 * without the GVL, group it by partition, call process / process_batch, have
 * Ruby deliver what was produced, store offset+1 per partition, pause and
 * rewind failing partitions, resume due ones, commit on a timer. Ruby user code
 * only runs here, on the calling thread, never inside librdkafka callbacks. */
#include "consumer.h"
#include "offsets.h"
#include <stdlib.h>
#include <string.h>

static ID id_deliver, id_handle_failure, id_handle_events, id_after_loop;

typedef struct {
    rcn_consumer *c;
    VALUE dispatcher;
    size_t fetch_messages;
    int max_wait_ms;
    int batch_mode;
    uint64_t poll_epoch;
    size_t *group;                          /* batch indexes of one partition */
    rd_kafka_topic_partition_list_t *store; /* offsets to store this iteration */
    size_t processed;
    int fatal_state;                        /* a non-recoverable jump to resume */
} iteration;

/* ---------- calling Ruby safely ---------- */

typedef struct {
    VALUE recv;
    ID mid;
    int argc;
    const VALUE *argv;
} call_args;

static VALUE call_body(VALUE data) {
    call_args *a = (call_args *)data;
    return rb_funcallv(a->recv, a->mid, a->argc, a->argv);
}

/* Returns 0, or the jump state with the exception in *exc. */
static int protected_call(VALUE recv, ID mid, int argc, const VALUE *argv, VALUE *exc) {
    call_args a = {recv, mid, argc, argv};
    int state = 0;
    rb_protect(call_body, (VALUE)&a, &state);
    if (state) *exc = rb_errinfo();
    return state;
}

/* Failures racecar retries: StandardErrors, what `rescue => e` catches.
 * Anything else interrupts the run instead of failing the messages (Ruby
 * 3.3's Timeout::ExitException, Thread#kill, a throw, signals, exit, out of
 * memory, ScriptErrors): it propagates after the partition was rewound. */
static int recoverable(VALUE exc) {
    return RB_TYPE_P(exc, T_OBJECT) && RTEST(rb_obj_is_kind_of(exc, rb_eStandardError));
}

/* ---------- offsets ---------- */

static void flush_store(iteration *it) {
    rcn_consumer *c = it->c;
    rd_kafka_topic_partition_list_t *list = it->store;
    it->store = NULL;
    if (!list) return;
    if (list->cnt > 0 && c->rk) rcn_consumer_store_offsets(c, list, 1);
    rd_kafka_topic_partition_list_destroy(list);
}

static void store_later(iteration *it, const char *topic, int32_t partition, int64_t next_offset) {
    if (!it->store) it->store = rd_kafka_topic_partition_list_new(8);
    rcn_offsets_add(it->store, topic, partition, next_offset);
}

/* ---------- one partition's messages ---------- */

/* A member that took longer than max_poll_interval between polls has been
 * dropped from the group: its partitions belong to others now, and the rest
 * of the batch is theirs to process (from the committed offsets). Without this
 * check, the blocked member finished its batch alongside the new owners. */
static int assignment_gone(rcn_consumer *c) {
    return c->rk && rd_kafka_assignment_lost(c->rk);
}

static void drop_messages(iteration *it, size_t from, size_t n) {
    rcn_consumer *c = it->c;
    for (size_t k = from; k < n; k++) {
        size_t i = it->group[k];
        if (c->batch[i]) rd_kafka_message_destroy(c->batch[i]);
        c->batch[i] = NULL;
    }
}

/* An interrupt is not a failure of the messages: no pause, no retry count,
 * no on_error. The partition goes back to the first unprocessed message
 * (nothing of the interrupted call was stored) and the interrupt propagates
 * once the iteration is cleaned up. */
static void interrupt_partition(iteration *it, const char *topic, int32_t partition, int64_t offset, int state) {
    rcn_partition *p = rcn_ptable_find(&it->c->table, topic, partition);
    if (p) p->next_offset = offset;
    rcn_consumer_seek_one(it->c, topic, partition, offset);
    it->fatal_state = state;
}

static void fail_partition(iteration *it, const char *topic, int32_t partition, int64_t offset, VALUE exc, VALUE failed, int state) {
    if (!recoverable(exc)) {
        interrupt_partition(it, topic, partition, offset, state);
        return;
    }
    rcn_consumer *c = it->c;
    rcn_partition *p = rcn_ptable_find(&c->table, topic, partition);
    int64_t duration = 0;
    int failures = 1;
    if (p) {
        duration = rcn_pause_failure(p, &c->pause, rcn_monotonic_ms(), offset);
        failures = p->failures;
        p->next_offset = offset;
    }
    if (duration != 0) rcn_consumer_pause_one(c, topic, partition, 1);
    rcn_consumer_seek_one(c, topic, partition, offset);
    rb_set_errinfo(Qnil);
    /* The handler hears the retries_count of the attempt that failed, the
     * same number its messages carried: 0 for a first failure. */
    VALUE args[4] = {exc, failed, INT2NUM(failures - 1), duration < 0 ? Qnil : DBL2NUM((double)duration / 1000.0)};
    VALUE handler_exc;
    int hstate = protected_call(it->dispatcher, id_handle_failure, 4, args, &handler_exc);
    if (hstate) {
        /* The Ruby side rescues its own errors; anything reaching here is an
         * interrupt, which must propagate. */
        it->fatal_state = hstate;
    }
}

static int deliver(iteration *it, VALUE *exc) {
    return protected_call(it->dispatcher, id_deliver, 0, NULL, exc);
}

/* One partition's messages for process(message), built one at a time and
 * called inside a single rb_protect: setting up a protect frame per message
 * costs as much as building the message. */
typedef struct {
    iteration *it;
    size_t n;
    size_t k;               /* next message to build */
    VALUE block;
    const char *topic;
    int32_t partition;
    int retries;
    VALUE first;            /* the run's first message, for delivery failures */
    VALUE current;          /* the message being processed */
    int64_t current_offset;
    int64_t done;           /* offset of the last message processed, or -1 */
} process_run;

static VALUE process_run_body(VALUE data) {
    process_run *r = (process_run *)data;
    iteration *it = r->it;
    rcn_consumer *c = it->c;
    while (r->k < r->n) {
        size_t i = it->group[r->k++];
        rd_kafka_message_t *rkm = c->batch[i];
        r->current_offset = rkm->offset;
        r->current = Qnil; /* if building raises, the failure is not blamed on the previous message */
        r->current = rcn_message_new_in(r->block, &c->batch[i], r->retries);
        if (NIL_P(r->first)) r->first = r->current;
        rb_funcallv(c->process_receiver, c->process_mid, 1, &r->current);
        r->done = r->current_offset;
        it->processed++;
        if (r->retries) {
            /* A success ends the run of failures: later messages of this
             * group are first attempts again. */
            r->retries = 0;
            rcn_partition *p = rcn_ptable_find(&c->table, r->topic, r->partition);
            if (p) rcn_pause_succeeded(p);
        }
        if (c->stop_requested || assignment_gone(c)) break;
    }
    return Qnil;
}

/* The run's messages borrow librdkafka's: most are dropped unread, and
 * copying their bytes and headers would be wasted (message_block.c). */
static VALUE new_block_for_group(iteration *it, size_t n, VALUE topic_string) {
    return rcn_message_block_borrowing(n, &it->c->borrowers, topic_string);
}

static void run_process_group(iteration *it, size_t n, const char *topic, int32_t partition, int retries) {
    rcn_consumer *c = it->c;
    int64_t first_offset = c->batch[it->group[0]]->offset;
    process_run r = {it, n, 0, new_block_for_group(it, n, rcn_topic_string(topic)), topic, partition, retries,
                     Qnil, Qnil, first_offset, -1};
    int64_t failed_at = -1;
    VALUE exc = Qnil, failed = Qnil;
    int state = 0;
    rb_protect(process_run_body, (VALUE)&r, &state);
    if (state) {
        exc = rb_errinfo();
        failed_at = r.current_offset;
        failed = r.current;
    }
    int64_t done = r.done;
    drop_messages(it, 0, n); /* whatever a failure or stop left unbuilt */
    if (state && !recoverable(exc)) {
        /* Leaving now (signal, exit, kill): what the processed messages
         * produced is unconfirmed, so all of them are redone after restart. */
        done = -1;
        failed_at = first_offset;
    } else if (done >= 0 || state) {
        VALUE dexc;
        int dstate = deliver(it, &dexc);
        if (dstate) {
            /* Produced messages did not all arrive: the whole run is redone,
             * and the error is reported at its first message. */
            if (state) rb_set_errinfo(Qnil);
            state = dstate;
            exc = dexc;
            failed = r.first;
            failed_at = first_offset;
            done = -1;
        }
    }
    if (done >= 0) store_later(it, topic, partition, done + 1);
    if (state) {
        fail_partition(it, topic, partition, failed_at, exc, failed, state);
    } else {
        rcn_partition *p = rcn_ptable_find(&c->table, topic, partition);
        if (p) rcn_pause_succeeded(p);
    }
    RB_GC_GUARD(r.block);
    RB_GC_GUARD(r.first);
    RB_GC_GUARD(r.current);
}

static void run_batch_group(iteration *it, size_t n, const char *topic, int32_t partition, int retries) {
    rcn_consumer *c = it->c;
    int64_t first_offset = c->batch[it->group[0]]->offset;
    int64_t last_offset = first_offset;
    VALUE block = new_block_for_group(it, n, rcn_topic_string(topic));
    /* Built into a buffer the GC scans conservatively (alloca, or a
     * temporary object for big batches), then copied into the Array at once:
     * rb_ary_push cost a tenth of the loop, much of it a write barrier per
     * message. */
    VALUE scratch;
    VALUE *built = ALLOCV_N(VALUE, scratch, n);
    for (size_t k = 0; k < n; k++) {
        size_t i = it->group[k];
        last_offset = c->batch[i]->offset;
        built[k] = rcn_message_new_in(block, &c->batch[i], retries);
    }
    VALUE messages = rb_ary_new_from_values((long)n, built);
    ALLOCV_END(scratch);
    VALUE exc = Qnil;
    int state = protected_call(c->process_receiver, c->process_mid, 1, &messages, &exc);
    if (!state || recoverable(exc)) {
        VALUE dexc;
        int dstate = deliver(it, &dexc);
        if (dstate) {
            if (state) rb_set_errinfo(Qnil);
            state = dstate;
            exc = dexc;
        }
    }
    if (state) {
        fail_partition(it, topic, partition, first_offset, exc, messages, state);
    } else {
        it->processed += n;
        store_later(it, topic, partition, last_offset + 1);
        rcn_partition *p = rcn_ptable_find(&c->table, topic, partition);
        if (p) rcn_pause_succeeded(p);
    }
    RB_GC_GUARD(block);
}

static void run_group(iteration *it, size_t n) {
    rcn_consumer *c = it->c;
    rd_kafka_message_t *first = c->batch[it->group[0]];
    const char *topic = rd_kafka_topic_name(first->rkt);
    int32_t partition = first->partition;
    rcn_partition *p = rcn_ptable_find(&c->table, topic, partition);
    if (!p || !p->assigned || p->paused || p->resynced_poll == c->poll_seq) {
        drop_messages(it, 0, n);
        return;
    }
    if (p->revoked_epoch > it->poll_epoch) {
        /* Revoked and given back within this poll: these messages predate the
         * new assignment. Rewind to the first of them instead of guessing. */
        int64_t offset = first->offset;
        drop_messages(it, 0, n);
        rcn_consumer_seek_one(c, topic, partition, offset);
        p->next_offset = offset;
        return;
    }
    p->next_offset = c->batch[it->group[n - 1]]->offset + 1;
    /* The topic name lives in the librdkafka topic handle, which the
     * messages keep alive; copy it before they are destroyed. */
    char *name = ruby_strdup(topic);
    int retries = p->failures;
    if (it->batch_mode) run_batch_group(it, n, name, partition, retries);
    else run_process_group(it, n, name, partition, retries);
    xfree(name);
}

static void dispatch_batch(iteration *it) {
    rcn_consumer *c = it->c;
    for (size_t i = 0; i < c->batch_len; i++) {
        rd_kafka_message_t *first = c->batch[i];
        if (!first) continue; /* taken by an earlier group: checked once per group, not per message */
        if (c->stop_requested || it->fatal_state || assignment_gone(c)) break;
        if (first->err || !first->rkt) {
            rcn_consumer_push_message_error(c, first);
            rd_kafka_message_destroy(first);
            c->batch[i] = NULL;
            continue;
        }
        size_t n = 0;
        for (size_t j = i; j < c->batch_len; j++) {
            rd_kafka_message_t *m = c->batch[j];
            if (m && !m->err && m->rkt == first->rkt && m->partition == first->partition) it->group[n++] = j;
        }
        run_group(it, n);
    }
}

/* ---------- the loop ---------- */

static void resume_due_partitions(rcn_consumer *c) {
    int64_t now = rcn_monotonic_ms();
    for (size_t i = 0; i < c->table.len; i++) {
        rcn_partition *p = &c->table.items[i];
        if (!rcn_pause_due(p, now)) continue;
        rcn_pause_resumed(p);
        /* Also while unassigned (between an eager revoke and assign):
         * librdkafka would otherwise keep the partition paused. */
        rcn_consumer_pause_one(c, p->topic, p->partition, 0);
        if (!p->assigned) continue;
        /* librdkafka 2.0 does not wake an idle fetcher on resume (it notices
         * up to a second later); a seek to an absolute offset does. It also
         * restates where the retry starts. */
        if (p->seek_offset >= 0) {
            rcn_consumer_seek_one(c, p->topic, p->partition, p->seek_offset);
            p->next_offset = p->seek_offset;
        }
    }
}

/* Where a partition with no committed offset began: its subscription's start
 * position, or librdkafka's auto.offset.reset. INVALID when that is the end of
 * the partition, which has moved on since and cannot be returned to. */
static int64_t start_offset(rcn_consumer *c, const char *topic) {
    for (int j = 0; j < c->reset_count; j++) {
        if (strcmp(c->reset_topics[j], topic) == 0)
            return c->reset_beginning[j] ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_INVALID;
    }
    char value[32];
    size_t size = sizeof(value);
    if (rd_kafka_conf_get(rd_kafka_conf(c->rk), "auto.offset.reset", value, &size) != RD_KAFKA_CONF_OK)
        return RD_KAFKA_OFFSET_INVALID;
    if (strcmp(value, "smallest") == 0 || strcmp(value, "earliest") == 0 || strcmp(value, "beginning") == 0)
        return RD_KAFKA_OFFSET_BEGINNING;
    return RD_KAFKA_OFFSET_INVALID;
}

/* Rewinds partitions a cooperative rebalance marked (see consumer.c) to the
 * first message the runner has not been given; their messages in this poll
 * are dropped and fetched again. A partition that has not delivered anything
 * yet rewinds to its committed offset, or to where it started when nothing
 * was committed. Messages are dropped only where a seek brings them back:
 * when the way back is unknown, this poll's messages are processed. */
static void resync_partitions(rcn_consumer *c) {
    if (!c->resync_pending) return;
    c->resync_pending = 0;
    rd_kafka_topic_partition_list_t *unknown = NULL;
    for (size_t i = 0; i < c->table.len; i++) {
        rcn_partition *p = &c->table.items[i];
        if (!p->resync) continue;
        p->resync = 0;
        if (!p->assigned || p->paused) continue;
        if (p->next_offset >= 0) {
            p->resynced_poll = c->poll_seq;
            rcn_consumer_seek_one(c, p->topic, p->partition, p->next_offset);
        } else {
            if (!unknown) unknown = rd_kafka_topic_partition_list_new(4);
            rd_kafka_topic_partition_list_add(unknown, p->topic, p->partition);
        }
    }
    if (!unknown) return;
    if (rcn_consumer_committed(c, unknown, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < unknown->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &unknown->elems[i];
            rcn_partition *p = rcn_ptable_find(&c->table, tp->topic, tp->partition);
            if (!p || tp->err) continue;
            int64_t offset = tp->offset >= 0 ? tp->offset : start_offset(c, p->topic);
            if (offset == RD_KAFKA_OFFSET_INVALID) continue;
            p->resynced_poll = c->poll_seq;
            rcn_consumer_seek_one(c, p->topic, p->partition, offset);
            if (offset >= 0) p->next_offset = offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(unknown);
}

static void hand_events_to_ruby(iteration *it) {
    rcn_consumer *c = it->c;
    if (!rcn_events_pending(&c->events)) return;
    size_t dropped = 0;
    VALUE events = rcn_events_to_ruby(rcn_events_take(&c->events, &dropped));
    if (dropped) {
        rb_ary_push(events, rb_ary_new_from_args(4, ID2SYM(rb_intern("log")), INT2NUM(4), rb_str_new_cstr("RACECAR"),
                                                 rb_sprintf("%zu librdkafka events were dropped", dropped)));
    }
    rb_funcall(it->dispatcher, id_handle_events, 1, events);
}

static void run_iteration(iteration *it) {
    rcn_consumer *c = it->c;
    int timeout = it->max_wait_ms;
    int64_t due = rcn_pause_next_due_in(&c->table, rcn_monotonic_ms());
    if (due >= 0 && due < timeout) timeout = (int)due;
    it->poll_epoch = c->table.epoch;
    it->processed = 0;
    c->poll_seq++;
    rcn_consumer_poll_into_batch(c, it->fetch_messages, timeout);
    resync_partitions(c);
    hand_events_to_ruby(it); /* rebalance hooks run before the new partitions' messages */
    dispatch_batch(it);
    rcn_consumer_destroy_batch(c);
    rcn_borrowers_trim(&c->borrowers);
    flush_store(it);
    if (it->fatal_state) return;
    resume_due_partitions(c);
    rcn_consumer_commit_due(c);
    hand_events_to_ruby(it);
    rb_funcall(it->dispatcher, id_after_loop, 1, SIZET2NUM(it->processed));
}

static VALUE run_body(VALUE data) {
    iteration *it = (iteration *)data;
    while (!it->c->stop_requested && !it->fatal_state) run_iteration(it);
    return Qnil;
}

static VALUE run_cleanup(VALUE data) {
    iteration *it = (iteration *)data;
    rcn_consumer *c = it->c;
    rcn_consumer_destroy_batch(c);
    flush_store(it);
    free(it->group);
    it->group = NULL;
    c->running = 0;
    c->dispatcher = Qnil;
    return Qnil;
}

/* run(dispatcher, fetch_messages:, max_wait_time:, batch:)
 * dispatcher answers deliver, handle_failure(exception, message_or_messages,
 * retries, pause_seconds_or_nil), handle_events(events), after_loop(count);
 * dispatch_to(receiver, method) chose who gets each message or batch. */
static VALUE consumer_run(VALUE self, VALUE dispatcher, VALUE fetch_messages, VALUE max_wait_time, VALUE batch) {
    rcn_consumer *c = rcn_consumer_get(self);
    if (c->running) rb_raise(rcn_eError, "the consumer is already running");
    if (NIL_P(c->process_receiver)) rb_raise(rcn_eError, "call dispatch_to(receiver, method) before run");
    iteration it = {0};
    it.c = c;
    it.dispatcher = dispatcher;
    it.fetch_messages = rcn_count_arg(fetch_messages, "fetch_messages");
    it.max_wait_ms = rcn_seconds_to_timeout_ms(max_wait_time, "max_wait_time");
    it.batch_mode = RTEST(batch);
    it.group = malloc(it.fetch_messages * sizeof(size_t));
    if (!it.group) rb_raise(rb_eNoMemError, "out of memory");
    RB_OBJ_WRITE(self, &c->dispatcher, dispatcher);
    c->running = 1;
    rb_ensure(run_body, (VALUE)&it, run_cleanup, (VALUE)&it);
    if (it.fatal_state) rb_jump_tag(it.fatal_state);
    return self;
}

static VALUE consumer_dispatch_to(VALUE self, VALUE receiver, VALUE method) {
    rcn_consumer *c = rcn_consumer_get(self);
    RB_OBJ_WRITE(self, &c->process_receiver, receiver);
    c->process_mid = rb_to_id(method);
    return Qnil;
}

void rcn_runner_init(VALUE cConsumer) {
    id_deliver = rb_intern("deliver");
    id_handle_failure = rb_intern("handle_failure");
    id_handle_events = rb_intern("handle_events");
    id_after_loop = rb_intern("after_loop");
    rb_define_method(cConsumer, "run", consumer_run, 4);
    rb_define_method(cConsumer, "dispatch_to", consumer_dispatch_to, 2);
}
