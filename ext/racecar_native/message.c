/* Racecar::Message: one consumed record. The messages of one partition run
 * share a block: a single allocation holding their structs and a copy of
 * their payload and key bytes, so building a message costs one Ruby object
 * and no malloc. Value, key and headers become Ruby objects only when asked
 * for; the librdkafka messages are freed right after the block is filled. */
#include "racecar_native.h"
#include <time.h>

static VALUE cMessage;

typedef struct {
    VALUE block;                 /* the hidden object owning this struct and the bytes */
    VALUE value;                 /* Qundef until asked for */
    VALUE key;                   /* Qundef until asked for */
    VALUE topic;
    VALUE headers_hash;          /* Qundef until converted */
    rd_kafka_headers_t *headers; /* owned copy, NULL when none or converted */
    const char *payload;         /* into the block; NULL for a nil value */
    const char *key_bytes;       /* into the block; NULL for a nil key */
    size_t payload_len;
    size_t key_len;
    int64_t offset;
    int64_t timestamp_ms;        /* -1 when the broker gave none */
    int32_t partition;
    int retries_count;
} rcn_message;

typedef struct {
    size_t capacity;  /* message slots */
    size_t count;     /* slots used */
    size_t bytes_cap;
    size_t bytes_used;
    char *bytes;      /* after the slots, in the same allocation */
    rcn_message messages[];
} rcn_message_block;

/* ---------- the block ---------- */

static void block_free(void *ptr) {
    rcn_message_block *b = ptr;
    for (size_t i = 0; i < b->count; i++) {
        if (b->messages[i].headers) rd_kafka_headers_destroy(b->messages[i].headers);
    }
    xfree(b);
}

static size_t block_size(const void *ptr) {
    const rcn_message_block *b = ptr;
    return sizeof(*b) + b->capacity * sizeof(rcn_message) + b->bytes_cap;
}

/* The block marks nothing: each message marks its own objects and the block,
 * so the block outlives every message that points into it. */
static const rb_data_type_t block_type = {
    "Racecar::Message block",
    {NULL, block_free, block_size, NULL},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED
};

/* What a message needs of its block's byte area: payload and key. */
size_t rcn_message_bytes(const rd_kafka_message_t *rkm) {
    return (rkm->payload ? rkm->len : 0) + (rkm->key ? rkm->key_len : 0);
}

/* A hidden object: only messages reference it. */
VALUE rcn_message_block_new(size_t capacity, size_t bytes) {
    if (capacity == 0) capacity = 1;
    size_t head = sizeof(rcn_message_block) + capacity * sizeof(rcn_message);
    rcn_message_block *b = xmalloc(head + bytes);
    b->capacity = capacity;
    b->count = 0;
    b->bytes_cap = bytes;
    b->bytes_used = 0;
    b->bytes = (char *)b + head;
    return rb_data_typed_object_wrap(0, b, &block_type);
}

static const char *copy_in(rcn_message_block *b, const void *ptr, size_t len) {
    if (!ptr) return NULL;
    char *dest = b->bytes + b->bytes_used;
    if (len) memcpy(dest, ptr, len);
    b->bytes_used += len;
    return dest;
}

/* ---------- the message ---------- */

static void message_mark(void *ptr) {
    rcn_message *m = ptr;
    rb_gc_mark_movable(m->block);
    if (m->value != Qundef) rb_gc_mark_movable(m->value);
    if (m->key != Qundef) rb_gc_mark_movable(m->key);
    rb_gc_mark_movable(m->topic);
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
    m->topic = rb_gc_location(m->topic);
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

/* block: made by rcn_message_block_new with room for this message's bytes.
 * topic: the interned topic String, looked up once per partition run. */
VALUE rcn_message_new_in(VALUE block, const rd_kafka_message_t *rkm, int retries_count, VALUE topic) {
    rcn_message_block *b = RTYPEDDATA_DATA(block);
    if (b->count >= b->capacity || b->bytes_cap - b->bytes_used < rcn_message_bytes(rkm))
        rb_raise(rcn_eError, "message block is full (a racecar bug)");
    rcn_message *m = &b->messages[b->count++];
    m->block = Qnil;
    m->topic = Qnil;
    m->value = Qundef;
    m->key = Qundef;
    m->headers_hash = Qundef;
    m->headers = NULL;
    m->payload = copy_in(b, rkm->payload, rkm->len);
    m->payload_len = rkm->len;
    m->key_bytes = copy_in(b, rkm->key, rkm->key_len);
    m->key_len = rkm->key_len;
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    m->retries_count = retries_count;
    rd_kafka_timestamp_type_t tstype;
    m->timestamp_ms = rd_kafka_message_timestamp(rkm, &tstype);
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs && rd_kafka_header_cnt(hdrs) > 0)
        m->headers = rd_kafka_headers_copy(hdrs);
    /* Barriers even on a new object: during incremental marking it is born
     * marked, and would otherwise never have its references traced. */
    VALUE obj = rb_data_typed_object_wrap(cMessage, m, &message_type);
    RB_OBJ_WRITE(obj, &m->block, block);
    RB_OBJ_WRITE(obj, &m->topic, topic);
    return obj;
}

VALUE rcn_message_new(const rd_kafka_message_t *rkm, int retries_count) {
    VALUE block = rcn_message_block_new(1, rcn_message_bytes(rkm));
    VALUE message = rcn_message_new_in(block, rkm, retries_count, rcn_topic_string(rd_kafka_topic_name(rkm->rkt)));
    RB_GC_GUARD(block);
    return message;
}

static VALUE lazy_bytes(VALUE self, VALUE *slot, const char *ptr, size_t len) {
    if (*slot == Qundef) RB_OBJ_WRITE(self, slot, ptr ? rb_str_new(ptr, (long)len) : Qnil);
    return *slot;
}

static VALUE message_value(VALUE self) {
    rcn_message *m = message_get(self);
    return lazy_bytes(self, &m->value, m->payload, m->payload_len);
}

static VALUE message_key(VALUE self) {
    rcn_message *m = message_get(self);
    return lazy_bytes(self, &m->key, m->key_bytes, m->key_len);
}

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
