/* Racecar::Native::MockCluster: librdkafka's in-process mock Kafka cluster
 * (rdkafka_mock.h), for fault-injection specs only. It injects what a real
 * broker will not do on demand: request errors, a coordinator moving, a
 * broker going down. Not part of racecar's public API. */
#include "racecar_native.h"
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include "reaper.h"

typedef struct {
    rd_kafka_t *rk; /* hosts the mock cluster's thread; never connects anywhere */
    rd_kafka_mock_cluster_t *mcluster;
} rcn_mock;

static void mock_release(rcn_mock *m) {
    if (m->mcluster) {
        rd_kafka_mock_cluster_destroy(m->mcluster);
        m->mcluster = NULL;
    }
    if (m->rk) {
        rd_kafka_destroy(m->rk);
        m->rk = NULL;
    }
}

static void reap_mock(void *arg) {
    mock_release(arg);
    free(arg);
}

/* The GC's sweep must not wait for the cluster's and the handle's threads:
 * the reaper destroys them. */
static void mock_free(void *ptr) {
    rcn_mock *m = ptr;
    rcn_mock *job = (m->rk || m->mcluster) ? malloc(sizeof(*job)) : NULL;
    if (job) {
        *job = *m;
        if (rcn_reaper_submit(reap_mock, job) != 0) reap_mock(job);
    } else {
        mock_release(m);
    }
    xfree(ptr);
}

static void *release_nogvl(void *data) {
    mock_release(data);
    return NULL;
}

static size_t mock_size(const void *ptr) { return sizeof(rcn_mock); }

static const rb_data_type_t mock_type = {
    "Racecar::Native::MockCluster",
    {NULL, mock_free, mock_size, NULL},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY
};

static VALUE mock_alloc(VALUE klass) {
    rcn_mock *m;
    return TypedData_Make_Struct(klass, rcn_mock, &mock_type, m);
}

static rcn_mock *mock_get(VALUE self) {
    rcn_mock *m = rb_check_typeddata(self, &mock_type);
    if (!m->mcluster) rb_raise(rcn_eError, "the mock cluster is closed");
    return m;
}

static void check(rd_kafka_resp_err_t err, const char *what) {
    if (err) rcn_raise_kafka(rcn_eKafkaError, err, what);
}

/* The hosting handle has no brokers of its own; its complaints about that
 * are not worth printing. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {}

/* MockCluster.new(broker_count) */
static VALUE mock_initialize(VALUE self, VALUE brokers) {
    rcn_mock *m = rb_check_typeddata(self, &mock_type);
    if (m->rk) rb_raise(rcn_eError, "already initialized");
    int count = NUM2INT(brokers);
    if (count < 1) rb_raise(rb_eArgError, "a mock cluster needs at least one broker");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    char errstr[512];
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!m->rk) {
        rd_kafka_conf_destroy(conf);
        rb_raise(rcn_eError, "could not create the mock cluster's handle: %s", errstr);
    }
    m->mcluster = rd_kafka_mock_cluster_new(m->rk, count);
    if (!m->mcluster) {
        mock_release(m);
        rb_raise(rcn_eError, "could not create a mock cluster of %d brokers", count);
    }
    return self;
}

static VALUE mock_bootstrap_servers(VALUE self) {
    return rb_str_new_cstr(rd_kafka_mock_cluster_bootstraps(mock_get(self)->mcluster));
}

/* create_topic(name, partitions, replication_factor) */
static VALUE mock_create_topic(VALUE self, VALUE name, VALUE partitions, VALUE replication) {
    check(rd_kafka_mock_topic_create(mock_get(self)->mcluster, StringValueCStr(name), NUM2INT(partitions),
                                     NUM2INT(replication)),
          "creating a mock topic failed");
    return self;
}

/* push_request_errors(api_key, [error_code, ...]): the next requests of that
 * kind, from any client, fail with these codes in turn. */
static VALUE mock_push_request_errors(VALUE self, VALUE api_key, VALUE codes) {
    rcn_mock *m = mock_get(self);
    Check_Type(codes, T_ARRAY);
    long n = RARRAY_LEN(codes);
    if (n == 0) return self;
    rd_kafka_resp_err_t *errors = ALLOCA_N(rd_kafka_resp_err_t, n);
    for (long i = 0; i < n; i++) errors[i] = (rd_kafka_resp_err_t)NUM2INT(RARRAY_AREF(codes, i));
    rd_kafka_mock_push_request_errors_array(m->mcluster, (int16_t)NUM2INT(api_key), (size_t)n, errors);
    return self;
}

static VALUE mock_clear_request_errors(VALUE self, VALUE api_key) {
    rd_kafka_mock_clear_request_errors(mock_get(self)->mcluster, (int16_t)NUM2INT(api_key));
    return self;
}

/* broker_down(id): closes the broker's connections and refuses new ones. */
static VALUE mock_broker_down(VALUE self, VALUE id) {
    check(rd_kafka_mock_broker_set_down(mock_get(self)->mcluster, NUM2INT(id)), "taking a mock broker down failed");
    return self;
}

static VALUE mock_broker_up(VALUE self, VALUE id) {
    check(rd_kafka_mock_broker_set_up(mock_get(self)->mcluster, NUM2INT(id)), "bringing a mock broker up failed");
    return self;
}

static VALUE mock_broker_rtt(VALUE self, VALUE id, VALUE rtt_ms) {
    check(rd_kafka_mock_broker_set_rtt(mock_get(self)->mcluster, NUM2INT(id), NUM2INT(rtt_ms)),
          "setting a mock broker's round trip time failed");
    return self;
}

/* coordinator(key_type, key, broker_id): key_type "group" or "transaction". */
static VALUE mock_coordinator(VALUE self, VALUE key_type, VALUE key, VALUE id) {
    check(rd_kafka_mock_coordinator_set(mock_get(self)->mcluster, StringValueCStr(key_type), StringValueCStr(key),
                                        NUM2INT(id)),
          "moving a mock coordinator failed");
    return self;
}

static VALUE mock_partition_leader(VALUE self, VALUE topic, VALUE partition, VALUE id) {
    check(rd_kafka_mock_partition_set_leader(mock_get(self)->mcluster, StringValueCStr(topic), NUM2INT(partition),
                                             NUM2INT(id)),
          "moving a mock partition leader failed");
    return self;
}

/* Without the GVL: destroying joins threads. An interrupt before it ran
 * leaves the cluster for the next close or the reaper. */
static VALUE mock_close(VALUE self) {
    rcn_mock *m = rb_check_typeddata(self, &mock_type);
    while (m->rk || m->mcluster) {
        if (!rcn_without_gvl(release_nogvl, m, NULL, NULL)) rb_thread_check_ints();
    }
    return Qnil;
}

void rcn_mock_cluster_init(VALUE mNative) {
    VALUE cMock = rb_define_class_under(mNative, "MockCluster", rb_cObject);
    rb_define_alloc_func(cMock, mock_alloc);
    rb_define_method(cMock, "initialize", mock_initialize, 1);
    rb_define_method(cMock, "bootstrap_servers", mock_bootstrap_servers, 0);
    rb_define_method(cMock, "create_topic", mock_create_topic, 3);
    rb_define_method(cMock, "push_request_errors", mock_push_request_errors, 2);
    rb_define_method(cMock, "clear_request_errors", mock_clear_request_errors, 1);
    rb_define_method(cMock, "broker_down", mock_broker_down, 1);
    rb_define_method(cMock, "broker_up", mock_broker_up, 1);
    rb_define_method(cMock, "broker_rtt", mock_broker_rtt, 2);
    rb_define_method(cMock, "coordinator", mock_coordinator, 3);
    rb_define_method(cMock, "partition_leader", mock_partition_leader, 3);
    rb_define_method(cMock, "close", mock_close, 0);
}
