/* Racecar::Native::Producer and Racecar::Native::DeliveryTracker. A C
 * thread serves delivery reports (no Ruby thread per producer); each produced
 * message may carry a tracker that counts it until the broker acknowledged
 * it, so produce_sync, wait_for_delivery and a consumer's deliver! all wait on
 * trackers without the GVL. */
#include "racecar_native.h"
#include "delivery.h"
#include "events.h"
#include "monotonic.h"
#include "reaper.h"
#include "topic_cache.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static VALUE cProducer, cTracker;

/* Bumped in every forked child (pthread_atfork), so a handle can tell it was
 * built in another process without a getpid() system call per message. */
static volatile unsigned long fork_generation;

static void on_fork_child(void) { fork_generation++; }

typedef struct {
    rd_kafka_t *rk;
    rcn_event_queue events;
    pthread_t poller;
    int poller_started;
    volatile int poller_stop;
    pthread_mutex_t space_lock;
    pthread_cond_t space_cond;    /* signalled when a delivery frees queue space and someone waits */
    volatile int space_woken;
    int space_waiters;            /* atomic: producers waiting for queue space */
    volatile int report_acks;
    /* Messages produced without a tracker (produce_async) are reported to Ruby
     * by a reporter thread that sleeps here until an event is queued or the
     * last of them is settled. */
    pthread_mutex_t report_lock;
    pthread_cond_t report_cond;
    long untracked;               /* atomic; the reporter reads it under report_lock */
    int report_woken;
    /* atomic: threads waiting for their own messages (deliver!, produce_sync,
     * wait_for_delivery); while there are any the delivery thread flushes. */
    int flush_waiters;
    int closed;                   /* no new work: set when close begins */
    int closing;                  /* close began: flushing, then destroying */
    int64_t close_deadline_ms;
    int in_flight;                /* blocking calls (partition_count) close waits for */
    unsigned long generation;     /* fork_generation of the process whose threads serve rk */
    rcn_topic_cache topics;
} rcn_producer;

/* ---------- DeliveryTracker ---------- */

typedef struct {
    rcn_tracker *t;
} tracker_box;

static void tracker_free(void *ptr) {
    tracker_box *box = ptr;
    if (box->t) rcn_tracker_unref(box->t);
    xfree(box);
}

static size_t tracker_size(const void *ptr) { return sizeof(tracker_box) + sizeof(rcn_tracker); }

static const rb_data_type_t tracker_type = {
    "Racecar::Native::DeliveryTracker",
    {NULL, tracker_free, tracker_size, NULL},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY
};

static VALUE tracker_alloc(VALUE klass) {
    tracker_box *box;
    VALUE obj = TypedData_Make_Struct(klass, tracker_box, &tracker_type, box);
    box->t = rcn_tracker_new();
    if (!box->t) rb_raise(rb_eNoMemError, "out of memory");
    return obj;
}

static rcn_tracker *tracker_get(VALUE self) {
    return ((tracker_box *)rb_check_typeddata(self, &tracker_type))->t;
}

typedef struct {
    rcn_tracker *t;
    int64_t deadline_ms;
    long pending;
} tracker_wait_args;

static void *tracker_wait_nogvl(void *data) {
    tracker_wait_args *a = data;
    a->pending = rcn_tracker_wait(a->t, a->deadline_ms);
    return NULL;
}

static void tracker_wait_ubf(void *data) {
    rcn_tracker_wake(data);
}

/* wait(timeout_seconds = nil) -> true when nothing is pending any more. */
static VALUE tracker_wait(int argc, VALUE *argv, VALUE self) {
    VALUE timeout;
    rb_scan_args(argc, argv, "01", &timeout);
    rcn_tracker *t = tracker_get(self);
    int64_t deadline = NIL_P(timeout) ? -1 : rcn_deadline_after(timeout, "timeout");
    tracker_wait_args a = {t, deadline, 0};
    for (;;) {
        if (!rcn_without_gvl(tracker_wait_nogvl, &a, tracker_wait_ubf, t)) {
            rb_thread_check_ints(); /* an interrupt was pending: nothing waited */
            continue;
        }
        if (a.pending == 0) return Qtrue;
        if (deadline >= 0 && rcn_monotonic_ms() >= deadline) return Qfalse;
        rb_thread_check_ints();
    }
}

static VALUE tracker_pending(VALUE self) {
    return LONG2NUM(rcn_tracker_pending(tracker_get(self)));
}

static VALUE tracker_delivered(VALUE self) {
    rcn_tracker *t = tracker_get(self);
    pthread_mutex_lock(&t->lock);
    long n = t->delivered;
    pthread_mutex_unlock(&t->lock);
    return LONG2NUM(n);
}

/* [partition, offset] of the last acknowledged message. */
static VALUE tracker_last_delivery(VALUE self) {
    rcn_tracker *t = tracker_get(self);
    pthread_mutex_lock(&t->lock);
    int32_t partition = t->last_partition;
    int64_t offset = t->last_offset;
    pthread_mutex_unlock(&t->lock);
    if (offset < 0) return Qnil;
    return rb_ary_new_from_args(2, INT2NUM(partition), LL2NUM(offset));
}

typedef struct {
    rcn_failure *list;
    VALUE result;
} failures_args;

static VALUE failures_convert(VALUE data) {
    failures_args *a = (failures_args *)data;
    for (rcn_failure *f = a->list; f; f = f->next) {
        rb_ary_push(a->result, rb_ary_new_from_args(4, rcn_topic_string(f->topic ? f->topic : ""), INT2NUM(f->partition),
                                                    rcn_err_code_sym(f->err), rb_str_new_cstr(rd_kafka_err2str(f->err))));
    }
    return a->result;
}

static VALUE failures_release(VALUE data) {
    rcn_failures_free(((failures_args *)data)->list);
    return Qnil;
}

/* take_failures -> [[topic, partition, code, description], ...], clearing them. */
static VALUE tracker_take_failures(VALUE self) {
    failures_args a = {rcn_tracker_take_failures(tracker_get(self)), rb_ary_new()};
    return rb_ensure(failures_convert, (VALUE)&a, failures_release, (VALUE)&a);
}

/* ---------- librdkafka callbacks (C only) ---------- */

static void notify_reporter(rcn_producer *p) {
    pthread_mutex_lock(&p->report_lock);
    pthread_cond_broadcast(&p->report_cond);
    pthread_mutex_unlock(&p->report_lock);
}

static void push_event(rcn_producer *p, rcn_event *ev) {
    if (!ev) return;
    rcn_events_push(&p->events, ev);
    notify_reporter(p);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    rcn_producer *p = opaque;
    rcn_tracker *t = rkm->_private;
    if (rkm->err && !t) {
        /* Nobody waits for this one (produce_async): the reporter logs it. */
        rcn_event *ev = rcn_event_new(RCN_EV_DELIVERY_ERROR, rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        if (ev) {
            ev->err = rkm->err;
            ev->partition = rkm->partition;
            rcn_events_push(&p->events, ev);
        }
    } else if (!rkm->err && p->report_acks) {
        rcn_event *ev = rcn_event_new(RCN_EV_ACK, rd_kafka_topic_name(rkm->rkt), NULL);
        if (ev) {
            ev->partition = rkm->partition;
            ev->offset = rkm->offset;
            rcn_events_push(&p->events, ev);
        }
    }
    /* Wake the reporter only when it has something to do, not per message. */
    int notify = p->report_acks && !rkm->err;
    if (t) {
        rcn_tracker_report(t, rkm);
    } else if (__atomic_sub_fetch(&p->untracked, 1, __ATOMIC_ACQ_REL) == 0 || rkm->err) {
        notify = 1;
    }
    /* notify_reporter broadcasts under report_lock, where the reporter checks
     * untracked before it sleeps: the wake-up cannot be missed. */
    if (notify) notify_reporter(p);
    /* A producer that starts waiting just after this check misses this
     * wake-up; its wait is bounded (100 ms) and it tries again. */
    if (__atomic_load_n(&p->space_waiters, __ATOMIC_ACQUIRE) > 0) {
        pthread_mutex_lock(&p->space_lock);
        pthread_cond_broadcast(&p->space_cond);
        pthread_mutex_unlock(&p->space_lock);
    }
}

static void producer_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    push_event(rd_kafka_opaque(rk), rcn_event_log(level, fac, buf));
}

static void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    push_event(opaque, rcn_event_client_error(rk, err, reason));
}

static int producer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    rcn_producer *p = opaque;
    push_event(p, rcn_event_new(RCN_EV_STATS, NULL, json));
    return 0;
}

/* The delivery thread serves delivery reports. While someone waits for their
 * messages it serves them through rd_kafka_flush instead, which tells the
 * broker threads to send at once rather than linger (linger.ms, 5 ms by
 * default): a consumer's deliver! after each batch, or a produce_sync, then
 * costs a round trip instead of a round trip plus linger.ms. */
static void *poller_main(void *data) {
    rcn_producer *p = data;
#ifdef __linux__
    pthread_setname_np(pthread_self(), "racecar:dr"); /* shows in top and perf */
#endif
    while (!p->poller_stop) {
        if (__atomic_load_n(&p->flush_waiters, __ATOMIC_ACQUIRE) == 0) {
            rd_kafka_poll(p->rk, 100);
        } else if (rd_kafka_flush(p->rk, 10) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Nothing in flight: the waiter is about to wake. Do not spin. */
            rd_kafka_poll(p->rk, 1);
        }
    }
    return NULL;
}

/* ---------- Producer ---------- */

/* rd_kafka_yield only cancels a dispatcher when called inside one of its
 * callbacks; from here it did nothing, and the delivery thread slept out
 * its poll. A yield of the queue it polls wakes it. */
static void wake_poller(rcn_producer *p) {
    rd_kafka_queue_t *reports = rd_kafka_queue_get_main(p->rk);
    rd_kafka_queue_yield(reports);
    rd_kafka_queue_destroy(reports);
}

static void stop_poller(rcn_producer *p) {
    if (!p->poller_started) return;
    p->poller_stop = 1;
    wake_poller(p);
    pthread_join(p->poller, NULL);
    p->poller_started = 0;
}

/* After fork the child has a copy of the handle but none of librdkafka's
 * threads: touching it (purge, join, destroy) would hang, so the child only
 * forgets it. A small leak beats a hang. */
static int foreign_handle(rcn_producer *p) {
    if (!p->rk || p->generation == fork_generation) return 0;
    rcn_topic_cache_forget(&p->topics);
    p->rk = NULL;
    p->poller_started = 0;
    p->closed = 1;
    return 1;
}

/* Pure C, never with the GVL held: close runs it through rcn_without_gvl,
 * a collected object on the reaper thread. Whatever is still queued fails
 * now (its trackers are told), then the handle goes without waiting on the
 * network. */
static void destroy_handle(rcn_producer *p) {
    if (!p->rk) return;
    p->closed = 1;
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    stop_poller(p);
    rd_kafka_poll(p->rk, 0);
    rcn_topic_cache_clear(&p->topics);
    rd_kafka_t *rk = p->rk;
    rd_kafka_destroy(rk);
    p->rk = NULL;
    notify_reporter(p);
}

static void free_state(rcn_producer *p) {
    rcn_events_destroy(&p->events);
    pthread_cond_destroy(&p->space_cond);
    pthread_mutex_destroy(&p->space_lock);
    pthread_cond_destroy(&p->report_cond);
    pthread_mutex_destroy(&p->report_lock);
    free(p);
}

/* On the reaper thread: the delivery thread and librdkafka's callbacks use
 * p until the handle is gone, so p is freed only after that. */
static void reap_producer(void *arg) {
    rcn_producer *p = arg;
    destroy_handle(p);
    free_state(p);
}

/* dfree runs inside a GC sweep with the GVL held and must not block: purge,
 * joining the delivery thread and destroying the handle go to the reaper. */
static void producer_free(void *ptr) {
    rcn_producer *p = ptr;
    foreign_handle(p);
    if (p->rk) {
        if (rcn_reaper_submit(reap_producer, p) == 0) return;
        reap_producer(p); /* no reaper thread (out of memory): better late than leaked */
        return;
    }
    free_state(p);
}

static size_t producer_size(const void *ptr) { return sizeof(rcn_producer); }

/* FREE_IMMEDIATELY is right because producer_free never blocks (above). */
static const rb_data_type_t producer_type = {
    "Racecar::Native::Producer",
    {NULL, producer_free, producer_size, NULL},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY
};

/* The struct is plain malloc memory, not Ruby's: the reaper thread frees it,
 * without the GVL, once the handle whose callbacks use it is gone. */
static VALUE producer_alloc(VALUE klass) {
    VALUE obj = TypedData_Wrap_Struct(klass, &producer_type, NULL);
    rcn_producer *p = calloc(1, sizeof(*p));
    if (!p) rb_raise(rb_eNoMemError, "out of memory for a producer");
    rcn_events_init(&p->events, 10000);
    pthread_mutex_init(&p->space_lock, NULL);
    rcn_cond_init_monotonic(&p->space_cond);
    pthread_mutex_init(&p->report_lock, NULL);
    rcn_cond_init_monotonic(&p->report_cond);
    p->closed = 1;
    RTYPEDDATA_DATA(obj) = p;
    return obj;
}

static rcn_producer *producer_get(VALUE self) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    if (!p->closed && foreign_handle(p)) rb_raise(rcn_eError, "the producer belongs to the parent process (forked)");
    if (p->closed || !p->rk) rb_raise(rcn_eError, "the producer is closed");
    return p;
}

static VALUE producer_initialize(VALUE self, VALUE properties) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    if (p->rk) rb_raise(rcn_eError, "already initialized");
    rd_kafka_conf_t *conf = rcn_conf_from_hash(properties);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_log_cb(conf, producer_log_cb);
    rd_kafka_conf_set_error_cb(conf, producer_error_cb);
    rd_kafka_conf_set_stats_cb(conf, producer_stats_cb);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eConfigError, "could not create the Kafka producer: %s", errstr);
    }
    p->rk = rk;
    p->closed = 0;
    p->generation = fork_generation;
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        rd_kafka_destroy(rk);
        p->rk = NULL;
        p->closed = 1;
        rb_raise(rcn_eError, "could not start the delivery report thread");
    }
    p->poller_started = 1;
    return self;
}

typedef struct {
    rcn_producer *p;
    int64_t deadline_ms;
} space_wait_args;

static void *space_wait_nogvl(void *data) {
    space_wait_args *a = data;
    rcn_producer *p = a->p;
    pthread_mutex_lock(&p->space_lock);
    __atomic_add_fetch(&p->space_waiters, 1, __ATOMIC_ACQ_REL);
    if (!p->space_woken) {
        int64_t until = a->deadline_ms;
        rcn_cond_wait_until(&p->space_cond, &p->space_lock, until);
    }
    __atomic_sub_fetch(&p->space_waiters, 1, __ATOMIC_ACQ_REL);
    p->space_woken = 0;
    pthread_mutex_unlock(&p->space_lock);
    return NULL;
}

static void space_wait_ubf(void *data) {
    rcn_producer *p = data;
    pthread_mutex_lock(&p->space_lock);
    p->space_woken = 1;
    pthread_cond_broadcast(&p->space_cond);
    pthread_mutex_unlock(&p->space_lock);
}

/* Header names and values as Strings, in pairs [name, value, ...] (value nil
 * for a null header), or nil when there are none. Converting runs Ruby (to_s),
 * so it happens before the producer's librdkafka objects are touched. */
static int add_header_strings(VALUE key, VALUE value, VALUE pairs) {
    rb_ary_push(pairs, rb_obj_as_string(key));
    rb_ary_push(pairs, NIL_P(value) ? Qnil : rb_obj_as_string(value));
    return ST_CONTINUE;
}

static VALUE header_strings(VALUE headers) {
    if (NIL_P(headers)) return Qnil;
    Check_Type(headers, T_HASH);
    if (RHASH_SIZE(headers) == 0) return Qnil;
    VALUE pairs = rb_ary_new_capa((long)RHASH_SIZE(headers) * 2);
    rb_hash_foreach(headers, add_header_strings, pairs);
    return pairs;
}

/* librdkafka's headers from header_strings' pairs; runs no Ruby. */
static rd_kafka_headers_t *build_headers(VALUE pairs) {
    if (NIL_P(pairs)) return NULL;
    long n = RARRAY_LEN(pairs);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)(n / 2));
    for (long i = 0; i + 1 < n; i += 2) {
        VALUE k = RARRAY_AREF(pairs, i), v = RARRAY_AREF(pairs, i + 1);
        rd_kafka_header_add(hdrs, RSTRING_PTR(k), RSTRING_LEN(k), NIL_P(v) ? NULL : RSTRING_PTR(v),
                            NIL_P(v) ? 0 : (size_t)RSTRING_LEN(v));
    }
    return hdrs;
}

static void count_untracked(rcn_producer *p, long delta) {
    __atomic_add_fetch(&p->untracked, delta, __ATOMIC_ACQ_REL);
}

/* Whatever is not already a String (a Symbol topic, an Integer key) is
 * produced as its to_s, as Racecar's API promises. */
static VALUE as_string(VALUE v) {
    return RB_TYPE_P(v, T_STRING) ? v : rb_obj_as_string(v);
}

/* A value or key argument: a String's bytes, or none for nil. */
static void set_bytes(rd_kafka_vu_t *vu, rd_kafka_vtype_t type, VALUE str) {
    vu->vtype = type;
    vu->u.mem.ptr = NIL_P(str) ? NULL : RSTRING_PTR(str);
    vu->u.mem.size = NIL_P(str) ? 0 : (size_t)RSTRING_LEN(str);
}

/* One rd_kafka_produceva call copying value and key. The topic goes by its
 * cached handle when there is one (looked up on every attempt: a close while
 * this thread waited for queue space destroys the cached handles). */
/* rkt: the topic's cached handle, or NULL to produce by topic_name. */
static rd_kafka_resp_err_t produce_copy(rcn_producer *p, rd_kafka_topic_t *rkt, const char *topic_name, int32_t partition,
                                        VALUE value, VALUE key, int64_t timestamp_ms, rd_kafka_headers_t *hdrs,
                                        rcn_tracker *t) {
    rd_kafka_vu_t vu[8];
    if (rkt) {
        vu[0].vtype = RD_KAFKA_VTYPE_RKT;
        vu[0].u.rkt = rkt;
    } else {
        vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[0].u.cstr = topic_name;
    }
    vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[1].u.i32 = partition;
    vu[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[2].u.i = RD_KAFKA_MSG_F_COPY;
    set_bytes(&vu[3], RD_KAFKA_VTYPE_VALUE, value);
    set_bytes(&vu[4], RD_KAFKA_VTYPE_KEY, key);
    vu[5].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[5].u.i64 = timestamp_ms;
    vu[6].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[6].u.headers = hdrs;
    vu[7].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[7].u.ptr = t;
    rd_kafka_error_t *error = rd_kafka_produceva(p->rk, vu, 8);
    if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    return err;
}

/* The trackers of the wait_for_delivery blocks running now, as [fiber,
 * tracker, fiber, tracker, ...], innermost last. A produce meant for "the
 * calling fiber's block, if any" looks here: one length check while no block
 * runs and a short scan while one does, where a fiber-local variable cost a
 * hash lookup per message. A fiber abandoned inside its block (never resumed)
 * leaves its pair behind, a small leak instead of a wrong tracker. */
static VALUE active_trackers;

static VALUE active_tracker_for(VALUE fiber) {
    for (long i = RARRAY_LEN(active_trackers) - 2; i >= 0; i -= 2) {
        if (RARRAY_AREF(active_trackers, i) == fiber) return RARRAY_AREF(active_trackers, i + 1);
    }
    return Qnil;
}

/* activate / deactivate: the calling fiber's wait_for_delivery block begins
 * and ends (deactivate in an ensure). */
static VALUE tracker_activate(VALUE self) {
    tracker_get(self);
    rb_ary_push(active_trackers, rb_fiber_current());
    rb_ary_push(active_trackers, self);
    return self;
}

static VALUE tracker_deactivate(VALUE self) {
    for (long i = RARRAY_LEN(active_trackers) - 1; i >= 1; i -= 2) {
        if (RARRAY_AREF(active_trackers, i) != self) continue;
        rb_ary_delete_at(active_trackers, i);
        rb_ary_delete_at(active_trackers, i - 1);
        break;
    }
    return self;
}

/* Enqueues a copy of one message, waiting (interruptibly) while the local
 * queue is full. topic is a String, tracker a DeliveryTracker or nil. Returns
 * NO_ERROR, or librdkafka's reason for refusing the message.
 *
 * Every conversion that runs Ruby (to_s of value, key, headers) comes first:
 * Ruby may switch threads, and another thread may close the producer, which
 * frees its librdkafka handle and topic handles. After the conversions the
 * handle is checked again, and from there to rd_kafka_produceva nothing
 * releases the GVL, so nothing can close it in between. */
static rd_kafka_resp_err_t enqueue_copy(VALUE self, rcn_producer *p, VALUE topic, VALUE value, VALUE key, int32_t part,
                                        VALUE headers, int64_t ts, VALUE tracker) {
    if (!NIL_P(value)) value = as_string(value);
    if (!NIL_P(key)) key = as_string(key);
    VALUE header_pairs = header_strings(headers);
    rcn_tracker *t = NIL_P(tracker) ? NULL : tracker_get(tracker);
    for (;;) {
        p = producer_get(self);
        /* The same topic as last time needs no C string and no search. */
        const char *topic_name = NULL;
        rd_kafka_topic_t *rkt = rcn_topic_cache_last(&p->topics, RSTRING_PTR(topic), (size_t)RSTRING_LEN(topic));
        if (!rkt) {
            topic_name = StringValueCStr(topic);
            rkt = rcn_topic_cache_get(&p->topics, p->rk, topic_name);
        }
        rd_kafka_headers_t *hdrs = build_headers(header_pairs);
        if (t) rcn_tracker_enqueued(t);
        else count_untracked(p, 1);
        rd_kafka_resp_err_t err = produce_copy(p, rkt, topic_name, part, value, key, ts, hdrs, t);
        RB_GC_GUARD(topic);
        RB_GC_GUARD(value);
        RB_GC_GUARD(key);
        RB_GC_GUARD(header_pairs);
        RB_GC_GUARD(tracker);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
        if (t) rcn_tracker_enqueue_failed(t);
        else count_untracked(p, -1);
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
        /* Back-pressure: wait for deliveries to free space, then retry (the
         * loop checks the handle again: it may have been closed meanwhile). */
        space_wait_args a = {p, rcn_monotonic_ms() + 100};
        rcn_without_gvl(space_wait_nogvl, &a, space_wait_ubf, p);
        rb_thread_check_ints();
    }
}

/* A handle built by the parent of this forked process must not be touched. */
static int usable_here(rcn_producer *p) {
    if (p->generation != fork_generation) {
        foreign_handle(p);
        return 0;
    }
    return 1;
}

static VALUE calling_fibers_tracker(void) {
    return RARRAY_LEN(active_trackers) ? active_tracker_for(rb_fiber_current()) : Qnil;
}

/* produce(topic, value, key, partition, headers, timestamp_ms, tracker)
 * Enqueues a copy; waits (interruptibly) while the local queue is full.
 * tracker: a DeliveryTracker, nil, or true for the tracker of the calling
 * fiber's wait_for_delivery block if one runs (active_trackers). Returns true when the message
 * is tracked, false when it is not, and nil when the handle was built by the
 * parent of this forked process (the caller builds its own and tries again). */
static VALUE producer_produce(VALUE self, VALUE topic, VALUE value, VALUE key, VALUE partition, VALUE headers,
                              VALUE timestamp_ms, VALUE tracker) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    if (!usable_here(p)) return Qnil;
    if (p->closed || !p->rk) rb_raise(rcn_eError, "the producer is closed");
    if (tracker == Qtrue) tracker = calling_fibers_tracker();
    topic = as_string(topic);
    int32_t part = NIL_P(partition) ? RD_KAFKA_PARTITION_UA : NUM2INT(partition);
    int64_t ts = NIL_P(timestamp_ms) ? 0 : NUM2LL(timestamp_ms);
    rd_kafka_resp_err_t err = enqueue_copy(self, p, topic, value, key, part, headers, ts, tracker);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return NIL_P(tracker) ? Qfalse : Qtrue;
    /* The message is librdkafka's description alone: Racecar::Producer
     * words the final error and adds a hint. */
    VALUE kwargs = rb_hash_new();
    rb_hash_aset(kwargs, ID2SYM(rb_intern("code")), rcn_err_code_sym(err));
    rb_hash_aset(kwargs, ID2SYM(rb_intern("topic")), topic);
    rb_hash_aset(kwargs, ID2SYM(rb_intern("partition")), partition);
    VALUE args[2] = {rb_str_new_cstr(rd_kafka_err2str(err)), kwargs};
    rb_exc_raise(rb_funcallv_kw(rcn_eDeliveryError, rb_intern("new"), 2, args, RB_PASS_KEYWORDS));
    return Qnil;
}

rcn_produce_outcome rcn_producer_produce_async(VALUE native, VALUE topic, VALUE value, VALUE key, VALUE partition,
                                               VALUE headers) {
    rcn_producer *p = rb_check_typeddata(native, &producer_type);
    if (!usable_here(p) || p->closed || !p->rk) return RCN_PRODUCE_DECLINED;
    VALUE tracker = calling_fibers_tracker();
    topic = as_string(topic);
    int32_t part = NIL_P(partition) ? RD_KAFKA_PARTITION_UA : NUM2INT(partition);
    if (enqueue_copy(native, p, topic, value, key, part, headers, 0, tracker) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return RCN_PRODUCE_DECLINED;
    return NIL_P(tracker) ? RCN_PRODUCE_UNTRACKED : RCN_PRODUCE_TRACKED;
}

static VALUE producer_queue_length(VALUE self) {
    return INT2NUM(rd_kafka_outq_len(producer_get(self)->rk));
}

static VALUE producer_drain_events(VALUE self) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    return rcn_events_to_ruby(rcn_events_take(&p->events, NULL));
}

typedef struct {
    rcn_producer *p;
    int64_t deadline_ms;
    long untracked;
} report_wait_args;

static void *report_wait_nogvl(void *data) {
    report_wait_args *a = data;
    rcn_producer *p = a->p;
    pthread_mutex_lock(&p->report_lock);
    while (!p->closed && !p->report_woken && __atomic_load_n(&p->untracked, __ATOMIC_ACQUIRE) > 0 &&
           !rcn_events_pending(&p->events)) {
        if (rcn_monotonic_ms() >= a->deadline_ms) break;
        rcn_cond_wait_until(&p->report_cond, &p->report_lock, a->deadline_ms);
    }
    p->report_woken = 0;
    a->untracked = __atomic_load_n(&p->untracked, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&p->report_lock);
    return NULL;
}

static void report_wait_ubf(void *data) {
    rcn_producer *p = data;
    pthread_mutex_lock(&p->report_lock);
    p->report_woken = 1;
    pthread_cond_broadcast(&p->report_cond);
    pthread_mutex_unlock(&p->report_lock);
}

typedef struct {
    VALUE tracker;
    VALUE timeout;
} await_args;

static VALUE await_body(VALUE data) {
    await_args *a = (await_args *)data;
    return tracker_wait(1, &a->timeout, a->tracker);
}

static VALUE await_done(VALUE data) {
    __atomic_sub_fetch(&((rcn_producer *)data)->flush_waiters, 1, __ATOMIC_ACQ_REL);
    return Qnil;
}

/* await(tracker, timeout_seconds) -> tracker.wait(timeout_seconds), with the
 * delivery thread flushing meanwhile (see poller_main). */
static VALUE producer_await(VALUE self, VALUE tracker, VALUE timeout) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    tracker_get(tracker);
    if (p->closed || !p->rk || p->generation != fork_generation) return tracker_wait(1, &timeout, tracker);
    if (__atomic_fetch_add(&p->flush_waiters, 1, __ATOMIC_ACQ_REL) == 0) wake_poller(p);
    await_args a = {tracker, timeout};
    return rb_ensure(await_body, (VALUE)&a, await_done, (VALUE)p);
}

/* wait_for_report(timeout_seconds) -> number of produce_async messages still
 * in flight. Returns early when there are events to drain or none is left in
 * flight; works on a closed producer too, so the reporter can finish. */
static VALUE producer_wait_for_report(VALUE self, VALUE timeout) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    report_wait_args a = {p, rcn_deadline_after(timeout, "timeout"), 0};
    while (!rcn_without_gvl(report_wait_nogvl, &a, report_wait_ubf, p)) rb_thread_check_ints();
    return LONG2NUM(a.untracked);
}

/* Messages produced without a tracker whose outcome is not known yet. */
static VALUE producer_untracked(VALUE self) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    return LONG2NUM(__atomic_load_n(&p->untracked, __ATOMIC_ACQUIRE));
}

static VALUE producer_set_report_acks(VALUE self, VALUE flag) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    p->report_acks = RTEST(flag);
    return flag;
}

typedef struct {
    rd_kafka_t *rk;
    const char *topic;
    int timeout_ms;
    int count;
    rd_kafka_resp_err_t err;
} metadata_args;

static void *metadata_nogvl(void *data) {
    metadata_args *a = data;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(a->rk, a->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    a->err = rd_kafka_metadata(a->rk, 0, rkt, &md, a->timeout_ms);
    a->count = -1;
    if (!a->err && md && md->topic_cnt == 1) {
        if (md->topics[0].err) a->err = md->topics[0].err;
        else a->count = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return NULL;
}

/* rd_kafka_metadata cannot be woken, so it is asked in slices with an
 * interrupt check between. */
#define METADATA_SLICE_MS 1000

typedef struct {
    rcn_producer *p;
    metadata_args *a;
    int64_t deadline_ms;
} metadata_call;

static VALUE metadata_body(VALUE data) {
    metadata_call *call = (metadata_call *)data;
    metadata_args *a = call->a;
    for (;;) {
        int64_t remaining = call->deadline_ms - rcn_monotonic_ms();
        if (remaining < 0) remaining = 0;
        a->timeout_ms = (int)(remaining < METADATA_SLICE_MS ? remaining : METADATA_SLICE_MS);
        a->err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        int ran = rcn_without_gvl(metadata_nogvl, a, NULL, NULL);
        if (ran && a->err != RD_KAFKA_RESP_ERR__TIMED_OUT) break;
        if (rcn_monotonic_ms() >= call->deadline_ms || call->p->closed) break;
        rb_thread_check_ints();
    }
    return Qnil;
}

static VALUE metadata_done(VALUE data) {
    ((metadata_call *)data)->p->in_flight--;
    return Qnil;
}

/* partition_count(topic, timeout_seconds): asks the cluster. */
static VALUE producer_partition_count(VALUE self, VALUE topic, VALUE timeout) {
    const char *name = StringValueCStr(topic);
    int timeout_ms = rcn_seconds_to_timeout_ms(timeout, "timeout");
    rcn_producer *p = producer_get(self); /* after the conversions, which may run Ruby */
    metadata_args a = {p->rk, name, 0, -1, 0};
    metadata_call call = {p, &a, rcn_monotonic_ms() + timeout_ms};
    p->in_flight++;
    rb_ensure(metadata_body, (VALUE)&call, metadata_done, (VALUE)&call);
    RB_GC_GUARD(topic);
    if (a.err) rcn_raise_kafka(rcn_eDeliveryError, a.err, "could not read the partitions of the topic");
    return INT2NUM(a.count);
}

typedef int32_t (*partitioner_fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

/* partition_for(topic, partition_key, partition_count, partitioner): the
 * partition librdkafka's partitioner would pick for this key. */
static VALUE producer_partition_for(VALUE self, VALUE topic, VALUE key, VALUE count, VALUE partitioner) {
    producer_get(self);
    const char *name = StringValueCStr(partitioner);
    partitioner_fn fn = NULL;
    if (!strcmp(name, "consistent")) fn = rd_kafka_msg_partitioner_consistent;
    else if (!strcmp(name, "consistent_random")) fn = rd_kafka_msg_partitioner_consistent_random;
    else if (!strcmp(name, "murmur2")) fn = rd_kafka_msg_partitioner_murmur2;
    else if (!strcmp(name, "murmur2_random")) fn = rd_kafka_msg_partitioner_murmur2_random;
    else if (!strcmp(name, "fnv1a")) fn = rd_kafka_msg_partitioner_fnv1a;
    else if (!strcmp(name, "fnv1a_random")) fn = rd_kafka_msg_partitioner_fnv1a_random;
    else rb_raise(rcn_eConfigError, "unknown partitioner %s", name);
    StringValue(key);
    /* Converted before the topic handle exists, which a raise would leak. */
    const char *topic_name = StringValueCStr(topic);
    int32_t partition_count = NUM2INT(count);
    rcn_producer *p = producer_get(self); /* again: the conversions may have run Ruby */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic_name, NULL);
    int32_t partition = fn(rkt, RSTRING_PTR(key), (size_t)RSTRING_LEN(key), partition_count, NULL, NULL);
    rd_kafka_topic_destroy(rkt);
    return INT2NUM(partition);
}

static void *flush_chunk_nogvl(void *data) {
    rd_kafka_flush(((rcn_producer *)data)->rk, 100);
    return NULL;
}

static void *destroy_nogvl(void *data) {
    destroy_handle(data);
    return NULL;
}

/* close(timeout_seconds): delivers what is queued (in short interruptible
 * chunks), fails the rest, stops the report thread, frees the handle. The
 * handle keeps where close got to: a close an interrupt ended goes on when
 * called again, or the reaper finishes it once the object is collected.
 * Waits for the blocking calls of other threads; the handle is destroyed
 * without the GVL. */
static VALUE producer_close(int argc, VALUE *argv, VALUE self) {
    VALUE timeout;
    rb_scan_args(argc, argv, "01", &timeout);
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    if (!p->rk || foreign_handle(p)) return Qnil;
    int64_t deadline = NIL_P(timeout) ? rcn_monotonic_ms() + 30000 : rcn_deadline_after(timeout, "timeout");
    if (!p->closing) {
        p->closing = 1;
        p->close_deadline_ms = deadline;
    }
    while (!p->closed && rd_kafka_outq_len(p->rk) > 0 && rcn_monotonic_ms() < p->close_deadline_ms) {
        rcn_without_gvl(flush_chunk_nogvl, p, NULL, NULL);
        rb_thread_check_ints();
    }
    p->closed = 1; /* from here on every entry refuses */
    while (p->in_flight > 0) rb_thread_wait_for(rb_time_interval(DBL2NUM(0.005)));
    while (p->rk) {
        if (!rcn_without_gvl(destroy_nogvl, p, NULL, NULL)) rb_thread_check_ints();
    }
    return Qnil;
}

/* In a forked child the librdkafka threads do not exist: forget the handle
 * without touching it. */
static VALUE producer_abandon(VALUE self) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    rcn_topic_cache_forget(&p->topics);
    p->rk = NULL;
    p->poller_started = 0;
    p->closed = 1;
    return Qnil;
}

/* Producer.fork_generation: changes in a forked child (cheaper than Process.pid). */
static VALUE producer_fork_generation(VALUE klass) {
    return ULONG2NUM(fork_generation);
}

/* False while a close is unfinished (the handle still exists), so callers
 * close again. */
static VALUE producer_closed_p(VALUE self) {
    rcn_producer *p = rb_check_typeddata(self, &producer_type);
    foreign_handle(p);
    return p->closed && !p->rk ? Qtrue : Qfalse;
}

void rcn_producer_init(VALUE mNative) {
    cTracker = rb_define_class_under(mNative, "DeliveryTracker", rb_cObject);
    rb_define_alloc_func(cTracker, tracker_alloc);
    rb_define_method(cTracker, "wait", tracker_wait, -1);
    rb_define_method(cTracker, "pending", tracker_pending, 0);
    rb_define_method(cTracker, "delivered", tracker_delivered, 0);
    rb_define_method(cTracker, "last_delivery", tracker_last_delivery, 0);
    rb_define_method(cTracker, "take_failures", tracker_take_failures, 0);
    rb_define_method(cTracker, "activate", tracker_activate, 0);
    rb_define_method(cTracker, "deactivate", tracker_deactivate, 0);

    cProducer = rb_define_class_under(mNative, "Producer", rb_cObject);
    rb_define_alloc_func(cProducer, producer_alloc);
    rb_define_singleton_method(cProducer, "fork_generation", producer_fork_generation, 0);
    pthread_atfork(NULL, NULL, on_fork_child);
    rb_define_method(cProducer, "initialize", producer_initialize, 1);
    rb_define_method(cProducer, "produce", producer_produce, 7);
    rb_define_method(cProducer, "queue_length", producer_queue_length, 0);
    rb_define_method(cProducer, "drain_events", producer_drain_events, 0);
    rb_define_method(cProducer, "report_acks=", producer_set_report_acks, 1);
    rb_define_method(cProducer, "wait_for_report", producer_wait_for_report, 1);
    rb_define_method(cProducer, "await", producer_await, 2);
    rb_define_method(cProducer, "untracked", producer_untracked, 0);
    rb_define_method(cProducer, "partition_count", producer_partition_count, 2);
    rb_define_method(cProducer, "partition_for", producer_partition_for, 4);
    rb_define_method(cProducer, "close", producer_close, -1);
    rb_define_method(cProducer, "abandon!", producer_abandon, 0);
    active_trackers = rb_ary_new();
    rb_gc_register_mark_object(active_trackers);
    rb_define_method(cProducer, "closed?", producer_closed_p, 0);
}
