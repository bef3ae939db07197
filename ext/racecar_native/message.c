/* Racecar::Message: one consumed record, living in a block shared with the
 * rest of its partition run (message_block.c), so building a message costs
 * one Ruby object and no malloc. Value, key and headers become Ruby objects
 * only when asked for. */
#include "message_block.h"
#include <time.h>

static VALUE cMessage;

/* ---------- the message ---------- */

static void message_mark(void *ptr) {
    rcn_message *m = ptr;
    rb_gc_mark_movable(m->block);
    if (m->value != Qundef) rb_gc_mark_movable(m->value);
    if (m->key != Qundef) rb_gc_mark_movable(m->key);
    if (m->headers_hash != Qundef) rb_gc_mark_movable(m->headers_hash);
}

static size_t message_size(const void *ptr) {
    return sizeof(rcn_message);
}

static void message_compact(void *ptr) {
    rcn_message *m = ptr;
    m->block = rb_gc_location(m->block);
    if (m->value != Qundef) m->value = rb_gc_location(m->value);
    if (m->key != Qundef) m->key = rb_gc_location(m->key);
    if (m->headers_hash != Qundef) m->headers_hash = rb_gc_location(m->headers_hash);
}

/* No free function: the struct lives in its block, which the block frees. */
static const rb_data_type_t message_type = {
    "Racecar::Message",
    {message_mark, NULL, message_size, message_compact},
    0, 0, RUBY_TYPED_WB_PROTECTED
};

static rcn_message *message_get(VALUE self) {
    return rb_check_typeddata(self, &message_type);
}

VALUE rcn_topic_string(const char *topic) {
    return rb_enc_interned_str(topic, (long)strlen(topic), rb_utf8_encoding());
}

/* block: a copying or borrowing block with room for this message, made for
 * its topic. Takes the librdkafka message over (see rcn_message_block_add). */
VALUE rcn_message_new_in(VALUE block, rd_kafka_message_t **rkmp, int retries_count) {
    rcn_message *m = rcn_message_block_add(RTYPEDDATA_DATA(block), rkmp);
    m->block = Qnil;
    m->value = Qundef;
    m->key = Qundef;
    m->headers_hash = Qundef;
    m->retries_count = retries_count;
    /* Barriers even on a new object: during incremental marking it is born
     * marked, and would otherwise never have its references traced. */
    VALUE obj = rb_data_typed_object_wrap(cMessage, m, &message_type);
    RB_OBJ_WRITE(obj, &m->block, block);
    return obj;
}

/* A message in a copying block of its own: the librdkafka message is
 * destroyed before this returns. */
VALUE rcn_message_new(rd_kafka_message_t **rkmp, int retries_count) {
    VALUE topic = rcn_topic_string(rd_kafka_topic_name((*rkmp)->rkt));
    VALUE block = rcn_message_block_new(1, rcn_message_bytes(*rkmp), topic);
    VALUE message = rcn_message_new_in(block, rkmp, retries_count);
    RB_GC_GUARD(block);
    return message;
}

/* The String is allocated before the bytes are read: that allocation may run
 * a GC whose sweep copies a borrowing block out (a collected consumer hands
 * back librdkafka's messages), which moves *ptr. */
static VALUE lazy_bytes(VALUE self, VALUE *slot, const char *const *ptr, size_t len) {
    if (*slot != Qundef) return *slot;
    VALUE string = Qnil;
    if (*ptr) {
        string = rb_str_new(NULL, (long)len);
        if (len) memcpy(RSTRING_PTR(string), *ptr, len);
    }
    RB_OBJ_WRITE(self, slot, string);
    return string;
}

static VALUE message_value(VALUE self) {
    rcn_message *m = message_get(self);
    return lazy_bytes(self, &m->value, &m->payload, m->payload_len);
}

static VALUE message_key(VALUE self) {
    rcn_message *m = message_get(self);
    return lazy_bytes(self, &m->key, &m->key_bytes, m->key_len);
}

static VALUE message_topic(VALUE self) {
    return ((rcn_message_block *)RTYPEDDATA_DATA(message_get(self)->block))->topic;
}
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
    /* Copied before any Ruby allocation, for the reason lazy_bytes gives. */
    if (m->headers_unread) m->headers = rcn_message_block_read_headers(RTYPEDDATA_DATA(m->block), m);
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
