/* Racecar::Message: one consumed record. Payload and key are copied into
 * binary Strings when the message is built (the librdkafka message is freed
 * right after); headers are kept as a librdkafka copy and turned into a frozen
 * Hash only when someone asks, since most consumers never look at them. */
#include "racecar_native.h"
#include <time.h>

static VALUE cMessage;

typedef struct {
    VALUE value;
    VALUE key;
    VALUE topic;
    VALUE headers_hash;          /* Qundef until converted */
    rd_kafka_headers_t *headers; /* owned copy, NULL when none or converted */
    int64_t offset;
    int64_t timestamp_ms;        /* -1 when the broker gave none */
    int32_t partition;
    int retries_count;
} rcn_message;

static void message_mark(void *ptr) {
    rcn_message *m = ptr;
    rb_gc_mark_movable(m->value);
    rb_gc_mark_movable(m->key);
    rb_gc_mark_movable(m->topic);
    if (m->headers_hash != Qundef) rb_gc_mark_movable(m->headers_hash);
}

static void message_free(void *ptr) {
    rcn_message *m = ptr;
    if (m->headers) rd_kafka_headers_destroy(m->headers);
    xfree(m);
}

static size_t message_size(const void *ptr) {
    return sizeof(rcn_message);
}

static void message_compact(void *ptr) {
    rcn_message *m = ptr;
    m->value = rb_gc_location(m->value);
    m->key = rb_gc_location(m->key);
    m->topic = rb_gc_location(m->topic);
    if (m->headers_hash != Qundef) m->headers_hash = rb_gc_location(m->headers_hash);
}

static const rb_data_type_t message_type = {
    "Racecar::Message",
    {message_mark, message_free, message_size, message_compact},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED
};

static rcn_message *message_get(VALUE self) {
    return rb_check_typeddata(self, &message_type);
}

VALUE rcn_topic_string(const char *topic) {
    return rb_enc_interned_str(topic, (long)strlen(topic), rb_utf8_encoding());
}

static VALUE bytes_or_nil(const void *ptr, size_t len) {
    return ptr ? rb_str_new(ptr, (long)len) : Qnil;
}

VALUE rcn_message_new(const rd_kafka_message_t *rkm, int retries_count) {
    return rcn_message_new_in(rkm, retries_count, rcn_topic_string(rd_kafka_topic_name(rkm->rkt)));
}

/* topic: the interned topic String, looked up once per partition run by the
 * runner rather than once per message. */
VALUE rcn_message_new_in(const rd_kafka_message_t *rkm, int retries_count, VALUE topic) {
    rcn_message *m;
    VALUE obj = TypedData_Make_Struct(cMessage, rcn_message, &message_type, m);
    m->headers_hash = Qundef;
    RB_OBJ_WRITE(obj, &m->value, bytes_or_nil(rkm->payload, rkm->len));
    RB_OBJ_WRITE(obj, &m->key, bytes_or_nil(rkm->key, rkm->key_len));
    RB_OBJ_WRITE(obj, &m->topic, topic);
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    m->retries_count = retries_count;
    rd_kafka_timestamp_type_t tstype;
    m->timestamp_ms = rd_kafka_message_timestamp(rkm, &tstype);
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs)
        m->headers = rd_kafka_headers_copy(hdrs);
    return obj;
}

static VALUE message_value(VALUE self) { return message_get(self)->value; }
static VALUE message_key(VALUE self) { return message_get(self)->key; }
static VALUE message_topic(VALUE self) { return message_get(self)->topic; }
static VALUE message_partition(VALUE self) { return INT2NUM(message_get(self)->partition); }
static VALUE message_offset(VALUE self) { return LL2NUM(message_get(self)->offset); }
static VALUE message_retries_count(VALUE self) { return INT2NUM(message_get(self)->retries_count); }

static VALUE message_create_time(VALUE self) {
    rcn_message *m = message_get(self);
    if (m->timestamp_ms < 0) return Qnil;
    return rb_time_nano_new((time_t)(m->timestamp_ms / 1000), (long)(m->timestamp_ms % 1000) * 1000000L);
}

static VALUE message_headers(VALUE self) {
    rcn_message *m = message_get(self);
    if (m->headers_hash != Qundef) return m->headers_hash;
    VALUE hash = rb_hash_new();
    if (m->headers) {
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(m->headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
            VALUE k = rb_enc_interned_str(name, (long)strlen(name), rb_utf8_encoding());
            VALUE v = value ? rb_str_new(value, (long)size) : Qnil;
            if (!NIL_P(v)) rb_obj_freeze(v);
            rb_hash_aset(hash, k, v);
        }
        rd_kafka_headers_destroy(m->headers);
        m->headers = NULL;
    }
    rb_obj_freeze(hash);
    RB_OBJ_WRITE(self, &m->headers_hash, hash);
    return hash;
}

void rcn_message_init(VALUE mRacecar) {
    cMessage = rb_define_class_under(mRacecar, "Message", rb_cObject);
    rb_undef_alloc_func(cMessage);
    rb_define_method(cMessage, "value", message_value, 0);
    rb_define_method(cMessage, "key", message_key, 0);
    rb_define_method(cMessage, "topic", message_topic, 0);
    rb_define_method(cMessage, "partition", message_partition, 0);
    rb_define_method(cMessage, "offset", message_offset, 0);
    rb_define_method(cMessage, "create_time", message_create_time, 0);
    rb_define_method(cMessage, "headers", message_headers, 0);
    rb_define_method(cMessage, "retries_count", message_retries_count, 0);
}
