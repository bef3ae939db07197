/* Racecar::Native::Admin: topic creation and deletion through librdkafka's
 * admin API, for racecarctl and for specs that need topics with an exact
 * partition count. Each call uses a short-lived client. */
#include "racecar_native.h"
#include "monotonic.h"
#include "reaper.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    rd_kafka_event_t *event;
    rd_kafka_NewTopic_t **new_topics;
    char **names;
    int count;
} admin_call;

/* The result event is stored in the call before the GVL and any interrupt
 * check come back, so the cleanup below frees it whatever interrupt ends
 * the wait. */
static void *admin_wait_nogvl(void *data) {
    admin_call *call = data;
    call->event = rd_kafka_queue_poll(call->queue, 200);
    return NULL;
}

static void admin_wait_ubf(void *data) {
    rd_kafka_queue_yield(((admin_call *)data)->queue);
}

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
} admin_client;

/* On the reaper thread: destroying a client joins its threads, which must
 * not happen with the GVL held. */
static void reap_client(void *arg) {
    admin_client *client = arg;
    if (client->queue) rd_kafka_queue_destroy(client->queue);
    rd_kafka_destroy(client->rk);
    free(client);
}

static void admin_call_free(admin_call *call) {
    if (call->event) rd_kafka_event_destroy(call->event);
    for (int i = 0; i < call->count; i++) {
        if (call->new_topics && call->new_topics[i]) rd_kafka_NewTopic_destroy(call->new_topics[i]);
        if (call->names && call->names[i]) xfree(call->names[i]);
    }
    xfree(call->new_topics);
    xfree(call->names);
    if (call->rk) {
        admin_client *client = malloc(sizeof(*client));
        if (client) {
            client->rk = call->rk;
            client->queue = call->queue;
            if (rcn_reaper_submit(reap_client, client) != 0) reap_client(client);
        } else {
            if (call->queue) rd_kafka_queue_destroy(call->queue);
            rd_kafka_destroy(call->rk);
        }
    } else if (call->queue) {
        rd_kafka_queue_destroy(call->queue);
    }
    memset(call, 0, sizeof(*call));
}

static VALUE admin_call_cleanup(VALUE data) {
    admin_call_free((admin_call *)data);
    return Qnil;
}

/* Waits for the admin result event; interruptible, polled in short chunks. */
static void wait_for_result(admin_call *call, rd_kafka_event_type_t type, int64_t timeout_ms) {
    int64_t deadline = rcn_monotonic_ms() + timeout_ms + 1000;
    while (!call->event) {
        rcn_without_gvl(admin_wait_nogvl, call, admin_wait_ubf, call);
        if (call->event && rd_kafka_event_type(call->event) != type) {
            rd_kafka_event_destroy(call->event);
            call->event = NULL;
        }
        if (!call->event) {
            rb_thread_check_ints();
            if (rcn_monotonic_ms() > deadline) rb_raise(rcn_eKafkaError, "the admin request timed out");
        }
    }
    if (rd_kafka_event_error(call->event))
        rcn_raise_kafka(rcn_eKafkaError, rd_kafka_event_error(call->event), rd_kafka_event_error_string(call->event));
}

static VALUE topic_results(const rd_kafka_topic_result_t **results, size_t n) {
    VALUE hash = rb_hash_new();
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        rb_hash_aset(hash, rb_str_new_cstr(rd_kafka_topic_result_name(results[i])),
                     err ? rcn_err_code_sym(err) : Qtrue);
    }
    return hash;
}

static void open_client(admin_call *call, VALUE properties) {
    rd_kafka_conf_t *conf = rcn_conf_from_hash(properties);
    char errstr[512];
    call->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!call->rk) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eConfigError, "could not create the Kafka admin client: %s", errstr);
    }
    call->queue = rd_kafka_queue_new(call->rk);
}

typedef struct {
    admin_call *call;
    VALUE properties;
    VALUE topics;
    int64_t timeout_ms;
} create_args;

static VALUE create_body(VALUE data) {
    create_args *a = (create_args *)data;
    admin_call *call = a->call;
    open_client(call, a->properties);
    long n = RARRAY_LEN(a->topics);
    call->new_topics = ZALLOC_N(rd_kafka_NewTopic_t *, n);
    call->count = (int)n;
    char errstr[512];
    for (long i = 0; i < n; i++) {
        VALUE spec = rb_Array(RARRAY_AREF(a->topics, i));
        VALUE name = rb_obj_as_string(rb_ary_entry(spec, 0));
        int partitions = NUM2INT(rb_ary_entry(spec, 1));
        VALUE rf = rb_ary_entry(spec, 2);
        call->new_topics[i] = rd_kafka_NewTopic_new(StringValueCStr(name), partitions, NIL_P(rf) ? 1 : NUM2INT(rf),
                                                    errstr, sizeof(errstr));
        if (!call->new_topics[i]) rb_raise(rcn_eConfigError, "bad topic %s: %s", StringValueCStr(name), errstr);
    }
    rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(call->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, (int)a->timeout_ms, errstr, sizeof(errstr));
    rd_kafka_CreateTopics(call->rk, call->new_topics, (size_t)n, options, call->queue);
    rd_kafka_AdminOptions_destroy(options);
    wait_for_result(call, RD_KAFKA_EVENT_CREATETOPICS_RESULT, a->timeout_ms);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(call->event), &cnt);
    return topic_results(results, cnt);
}

/* Admin.create_topics(properties, [[name, partitions, replication], ...], timeout_seconds)
 * -> {name => true | error code Symbol (e.g. :topic_already_exists)} */
static VALUE admin_create_topics(VALUE mod, VALUE properties, VALUE topics, VALUE timeout) {
    Check_Type(topics, T_ARRAY);
    admin_call call = {0};
    create_args a = {&call, properties, topics, rcn_seconds_to_timeout_ms(timeout, "timeout")};
    return rb_ensure(create_body, (VALUE)&a, admin_call_cleanup, (VALUE)&call);
}

static VALUE delete_body(VALUE data) {
    create_args *a = (create_args *)data;
    admin_call *call = a->call;
    open_client(call, a->properties);
    long n = RARRAY_LEN(a->topics);
    /* Every name is converted (which may raise) before anything is allocated. */
    VALUE names = rb_ary_new_capa(n);
    for (long i = 0; i < n; i++) {
        VALUE name = rb_obj_as_string(RARRAY_AREF(a->topics, i));
        StringValueCStr(name);
        rb_ary_push(names, name);
    }
    rd_kafka_DeleteTopic_t **del = ZALLOC_N(rd_kafka_DeleteTopic_t *, n);
    for (long i = 0; i < n; i++) del[i] = rd_kafka_DeleteTopic_new(RSTRING_PTR(RARRAY_AREF(names, i)));
    RB_GC_GUARD(names);
    char errstr[512];
    rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(call->rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, (int)a->timeout_ms, errstr, sizeof(errstr));
    rd_kafka_DeleteTopics(call->rk, del, (size_t)n, options, call->queue);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_DeleteTopic_destroy_array(del, (size_t)n);
    xfree(del);
    wait_for_result(call, RD_KAFKA_EVENT_DELETETOPICS_RESULT, a->timeout_ms);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(call->event), &cnt);
    return topic_results(results, cnt);
}

/* Admin.delete_topics(properties, [names], timeout_seconds) -> {name => true | code} */
static VALUE admin_delete_topics(VALUE mod, VALUE properties, VALUE topics, VALUE timeout) {
    Check_Type(topics, T_ARRAY);
    admin_call call = {0};
    create_args a = {&call, properties, topics, rcn_seconds_to_timeout_ms(timeout, "timeout")};
    return rb_ensure(delete_body, (VALUE)&a, admin_call_cleanup, (VALUE)&call);
}

void rcn_admin_init(VALUE mNative) {
    VALUE mAdmin = rb_define_module_under(mNative, "Admin");
    rb_define_module_function(mAdmin, "create_topics", admin_create_topics, 3);
    rb_define_module_function(mAdmin, "delete_topics", admin_delete_topics, 3);
}
