/* The memory behind Racecar::Message objects (message_block.c owns it,
 * message.c reads it). The messages of one partition run share a block: one
 * allocation holding their structs. A copying block holds a copy of their
 * payload and key bytes. A borrowing block keeps the librdkafka messages
 * themselves and points into them, until the block is collected or copies
 * them out (when too many borrowing blocks are alive, or before the handle
 * they came from is destroyed). */
#ifndef RCN_MESSAGE_BLOCK_H
#define RCN_MESSAGE_BLOCK_H

#include "racecar_native.h"
#include <sys/types.h>

typedef struct {
    VALUE block;                 /* the hidden object owning this struct and the bytes */
    VALUE value;                 /* Qundef until asked for */
    VALUE key;                   /* Qundef until asked for */
    VALUE headers_hash;          /* Qundef until converted */
    rd_kafka_headers_t *headers; /* owned copy, NULL when none, unread or converted */
    const char *payload;         /* into the block or its librdkafka message; NULL for a nil value */
    const char *key_bytes;       /* likewise; NULL for a nil key */
    size_t payload_len;
    size_t key_len;
    int64_t offset;
    int64_t timestamp_ms;        /* -1 when the broker gave none */
    int32_t partition;
    int retries_count;
    int headers_unread;          /* still only in the borrowed librdkafka message */
} rcn_message;

typedef struct rcn_message_block rcn_message_block;

/* The borrowing blocks of one consumer handle, oldest first. Only touched
 * with the GVL held, and never while Ruby can allocate (a GC sweep frees
 * blocks, which unlink themselves). */
typedef struct {
    rcn_message_block *oldest;
    rcn_message_block *newest;
    size_t blocks;
    size_t bytes;                /* estimate of the librdkafka memory they keep */
    size_t reported;             /* the part of bytes Ruby's GC was told about */
} rcn_borrowers;

struct rcn_message_block {
    VALUE topic;                 /* the interned topic String all its messages share */
    size_t capacity;             /* message slots */
    size_t count;                /* slots used */
    char *bytes;                 /* copied payload and key bytes, NULL while borrowing */
    size_t bytes_cap;
    size_t bytes_used;
    int bytes_separate;          /* bytes were allocated on their own (copied out) */
    rd_kafka_message_t **borrowed; /* one per slot while borrowing, else NULL */
    rcn_borrowers *list;         /* NULL once copied out or forgotten */
    rcn_message_block *older;
    rcn_message_block *newer;
    size_t borrowed_bytes;       /* this block's share of list->bytes */
    pid_t pid;                   /* a forked child must not free librdkafka's messages */
    rcn_message messages[];
};

/* What a message needs of a copying block's byte area: payload and key. */
size_t rcn_message_bytes(const rd_kafka_message_t *rkm);
/* topic: the interned topic String of every message the block will hold. */
VALUE rcn_message_block_new(size_t capacity, size_t bytes, VALUE topic);
VALUE rcn_message_block_borrowing(size_t capacity, rcn_borrowers *list, VALUE topic);
/* Takes the next slot for *rkmp and takes the librdkafka message over
 * (setting *rkmp to NULL): a copying block destroys it at once. Raises, still
 * leaving *rkmp to the caller, only when the block is full. */
rcn_message *rcn_message_block_add(rcn_message_block *b, rd_kafka_message_t **rkmp);
/* The headers of a borrowing block's message, copied (NULL when none). */
rd_kafka_headers_t *rcn_message_block_read_headers(rcn_message_block *b, rcn_message *m);

void rcn_borrowers_init(rcn_borrowers *list);
/* Tells Ruby's GC what the blocks keep, then copies out the oldest blocks
 * until at most a bounded amount is borrowed. Once per poll. */
void rcn_borrowers_trim(rcn_borrowers *list);
/* Copies out every block: before the handle the messages came from goes. */
void rcn_borrowers_release_all(rcn_borrowers *list);
/* A forked child: unlink every block and leave librdkafka's memory alone. */
void rcn_borrowers_forget_all(rcn_borrowers *list);

#endif
