/* The blocks behind Racecar::Message objects: one allocation per partition
 * run, holding the message structs and either copies of their bytes or the
 * librdkafka messages themselves. Borrowing spares every message a header
 * parse (librdkafka 2.0.2 allocates a parse buffer even for a record without
 * headers) and a copy of its bytes, for messages nobody reads them from. */
#include "message_block.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What borrowing blocks may keep alive before the oldest are copied out.
 * Messages nobody keeps are collected long before: their memory is reported
 * to Ruby's GC (rb_gc_adjust_memory_usage), whose malloc limit (16 MB at
 * first) then starts a minor GC well before this bound. Without that report
 * the GC counted only Ruby objects and ran too seldom, so blocks already
 * garbage were copied out for nothing (8% of process_batch's instructions).
 * librdkafka keeps a few hundred bytes per message besides payload and key. */
#define MAX_BORROWING_BLOCKS 64
#define MAX_BORROWED_BYTES ((size_t)32 << 20)
#define BORROW_OVERHEAD 512

size_t rcn_message_bytes(const rd_kafka_message_t *rkm) {
    return (rkm->payload ? rkm->len : 0) + (rkm->key ? rkm->key_len : 0);
}

/* ---------- the list of borrowing blocks ---------- */

void rcn_borrowers_init(rcn_borrowers *list) {
    memset(list, 0, sizeof(*list));
}

static void link_newest(rcn_borrowers *list, rcn_message_block *b) {
    b->list = list;
    b->older = list->newest;
    b->newer = NULL;
    if (list->newest) list->newest->newer = b;
    else list->oldest = b;
    list->newest = b;
    list->blocks++;
}

static void unlink_block(rcn_message_block *b) {
    rcn_borrowers *list = b->list;
    if (!list) return;
    if (b->older) b->older->newer = b->newer;
    else list->oldest = b->newer;
    if (b->newer) b->newer->older = b->older;
    else list->newest = b->older;
    list->blocks--;
    list->bytes -= b->borrowed_bytes;
    if (list->reported > list->bytes) {
        /* Only a decrease: safe inside a sweep, it never starts a GC. */
        rb_gc_adjust_memory_usage(-(ssize_t)(list->reported - list->bytes));
        list->reported = list->bytes;
    }
    b->list = NULL;
    b->older = b->newer = NULL;
}

/* ---------- bytes and headers ---------- */

static const char *copy_in(rcn_message_block *b, const void *ptr, size_t len) {
    if (!ptr) return NULL;
    char *dest = b->bytes + b->bytes_used;
    if (len) memcpy(dest, ptr, len);
    b->bytes_used += len;
    return dest;
}

/* librdkafka's own allocator (no Ruby GC), so it is safe inside a sweep. */
static rd_kafka_headers_t *headers_copy(const rd_kafka_message_t *rkm) {
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs && rd_kafka_header_cnt(hdrs) > 0)
        return rd_kafka_headers_copy(hdrs);
    return NULL;
}

rd_kafka_headers_t *rcn_message_block_read_headers(rcn_message_block *b, rcn_message *m) {
    m->headers_unread = 0;
    return headers_copy(b->borrowed[m - b->messages]);
}

static void destroy_borrowed(rcn_message_block *b) {
    if (b->pid == getpid()) {
        for (size_t i = 0; i < b->count; i++) rd_kafka_message_destroy(b->borrowed[i]);
    }
    b->borrowed = NULL;
}

/* Gives the librdkafka messages back after copying what the messages still
 * need. Runs inside a GC sweep when a consumer handle is collected, so it
 * allocates with plain malloc, which never starts a GC. */
static void copy_out(rcn_message_block *b) {
    size_t total = 0;
    for (size_t i = 0; i < b->count; i++) total += rcn_message_bytes(b->borrowed[i]);
    char *bytes = malloc(total ? total : 1);
    if (!bytes) {
        fputs("racecar: out of memory copying kept messages out of librdkafka\n", stderr);
        abort();
    }
    b->bytes = bytes;
    b->bytes_cap = total;
    b->bytes_used = 0;
    b->bytes_separate = 1;
    for (size_t i = 0; i < b->count; i++) {
        rcn_message *m = &b->messages[i];
        const rd_kafka_message_t *rkm = b->borrowed[i];
        m->payload = copy_in(b, rkm->payload, rkm->len);
        m->key_bytes = copy_in(b, rkm->key, rkm->key_len);
        if (m->headers_unread) m->headers = rcn_message_block_read_headers(b, m);
    }
    unlink_block(b);
    destroy_borrowed(b);
}

void rcn_borrowers_trim(rcn_borrowers *list) {
    if (list->bytes > list->reported) {
        rb_gc_adjust_memory_usage((ssize_t)(list->bytes - list->reported));
        list->reported = list->bytes;
    }
    while (list->oldest && (list->blocks > MAX_BORROWING_BLOCKS || list->bytes > MAX_BORROWED_BYTES))
        copy_out(list->oldest);
}

void rcn_borrowers_release_all(rcn_borrowers *list) {
    while (list->oldest) copy_out(list->oldest);
}

void rcn_borrowers_forget_all(rcn_borrowers *list) {
    while (list->oldest) unlink_block(list->oldest);
}

/* ---------- the block object ---------- */

static void block_free(void *ptr) {
    rcn_message_block *b = ptr;
    if (!b) return;
    unlink_block(b);
    if (b->borrowed) destroy_borrowed(b);
    for (size_t i = 0; i < b->count; i++) {
        if (b->messages[i].headers) rd_kafka_headers_destroy(b->messages[i].headers);
    }
    if (b->bytes_separate) free(b->bytes);
    xfree(b);
}

static void block_mark(void *ptr) {
    rb_gc_mark_movable(((rcn_message_block *)ptr)->topic);
}

static void block_compact(void *ptr) {
    rcn_message_block *b = ptr;
    b->topic = rb_gc_location(b->topic);
}

static size_t block_size(const void *ptr) {
    const rcn_message_block *b = ptr;
    return sizeof(*b) + b->capacity * sizeof(rcn_message) + b->bytes_cap;
}

/* The block marks only the topic its messages share (one write barrier per
 * block instead of one per message); each message marks the block, so the
 * block outlives every message that points into it. */
static const rb_data_type_t block_type = {
    "Racecar::Message block",
    {block_mark, block_free, block_size, block_compact},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED
};

/* A hidden object (only messages reference it); extra bytes follow the slots. */
static VALUE block_alloc(size_t capacity, size_t extra, VALUE topic, rcn_message_block **out) {
    if (capacity == 0) capacity = 1;
    VALUE obj = rb_data_typed_object_wrap(0, NULL, &block_type);
    size_t head = sizeof(rcn_message_block) + capacity * sizeof(rcn_message);
    rcn_message_block *b = xmalloc(head + extra);
    memset(b, 0, sizeof(*b));
    b->topic = Qnil;
    b->capacity = capacity;
    b->pid = getpid();
    DATA_PTR(obj) = b;
    RB_OBJ_WRITE(obj, &b->topic, topic);
    *out = b;
    return obj;
}

VALUE rcn_message_block_new(size_t capacity, size_t bytes, VALUE topic) {
    rcn_message_block *b;
    VALUE obj = block_alloc(capacity, bytes, topic, &b);
    b->bytes = (char *)&b->messages[b->capacity];
    b->bytes_cap = bytes;
    return obj;
}

VALUE rcn_message_block_borrowing(size_t capacity, rcn_borrowers *list, VALUE topic) {
    rcn_message_block *b;
    VALUE obj = block_alloc(capacity, (capacity ? capacity : 1) * sizeof(rd_kafka_message_t *), topic, &b);
    b->borrowed = (rd_kafka_message_t **)&b->messages[b->capacity];
    link_newest(list, b);
    return obj;
}

rcn_message *rcn_message_block_add(rcn_message_block *b, rd_kafka_message_t **rkmp) {
    rd_kafka_message_t *rkm = *rkmp;
    if (b->count >= b->capacity || (!b->borrowed && b->bytes_cap - b->bytes_used < rcn_message_bytes(rkm)))
        rb_raise(rcn_eError, "message block is full (a racecar bug)");
    size_t slot = b->count++;
    rcn_message *m = &b->messages[slot];
    *rkmp = NULL;
    m->payload_len = rkm->len;
    m->key_len = rkm->key_len;
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    rd_kafka_timestamp_type_t tstype;
    m->timestamp_ms = rd_kafka_message_timestamp(rkm, &tstype);
    if (b->borrowed) {
        b->borrowed[slot] = rkm;
        m->payload = rkm->payload;
        m->key_bytes = rkm->key;
        m->headers = NULL;
        m->headers_unread = 1;
        size_t share = rcn_message_bytes(rkm) + BORROW_OVERHEAD;
        b->borrowed_bytes += share;
        if (b->list) b->list->bytes += share;
    } else {
        m->payload = copy_in(b, rkm->payload, rkm->len);
        m->key_bytes = copy_in(b, rkm->key, rkm->key_len);
        m->headers = headers_copy(rkm);
        m->headers_unread = 0;
        rd_kafka_message_destroy(rkm);
    }
    return m;
}
