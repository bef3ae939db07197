/* What the runner knows about each partition it has been assigned: whether it
 * is still assigned, its pause state and the offsets it stored and committed. */
#ifndef RCN_PARTITION_TABLE_H
#define RCN_PARTITION_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *topic;
    int32_t partition;
    int assigned;
    uint64_t revoked_epoch;  /* table epoch of the last revoke, 0 if never */

    /* pause state, see pause.c */
    int paused;
    int failures;            /* consecutive failed calls: the retries_count */
    int64_t paused_at_ms;
    int64_t resume_at_ms;    /* -1: paused until restart */
    int64_t seek_offset;     /* first unprocessed message of a paused partition */

    /* offsets, see offsets.c: -1 when unknown */
    int64_t stored_offset;   /* last processed offset + 1 */
    int64_t committed_offset;
    int64_t next_offset;     /* first message not yet handed to the runner */

    /* A cooperative rebalance paused and resumed the partition inside
     * librdkafka, which (2.0.x only) may skip messages it had already put in
     * a batch; the runner seeks back to next_offset once. */
    int resync;
    uint64_t resynced_poll;  /* poll whose messages the resync dropped */
} rcn_partition;

typedef struct {
    rcn_partition *items;
    size_t len;
    size_t cap;
    uint64_t epoch;          /* bumped on every revoke */
    size_t last_hit;         /* lookups come in runs of one partition */
} rcn_partition_table;

void rcn_ptable_init(rcn_partition_table *t);
void rcn_ptable_destroy(rcn_partition_table *t);
rcn_partition *rcn_ptable_find(rcn_partition_table *t, const char *topic, int32_t partition);
/* Finds or adds; NULL only when out of memory. */
rcn_partition *rcn_ptable_fetch(rcn_partition_table *t, const char *topic, int32_t partition);
/* Drops every entry that is no longer assigned (its pause state goes too). */
void rcn_ptable_prune_unassigned(rcn_partition_table *t);
void rcn_ptable_remove(rcn_partition_table *t, const char *topic, int32_t partition);

#endif
