/* Builds the offset lists racecar stores and commits. The runner stores
 * offset+1 of the last processed message once per partition per batch, and
 * commits what it stored on a timer, on revoke and on close. */
#include "offsets.h"
#include <string.h>

void rcn_offsets_add(rd_kafka_topic_partition_list_t *list, const char *topic, int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(list, topic, partition);
    if (!tp) tp = rd_kafka_topic_partition_list_add(list, topic, partition);
    if (tp->offset < offset) tp->offset = offset;
}

static int in_filter(const rd_kafka_topic_partition_list_t *only, const rcn_partition *p) {
    if (!only) return 1;
    for (int i = 0; i < only->cnt; i++) {
        if (only->elems[i].partition == p->partition && strcmp(only->elems[i].topic, p->topic) == 0) return 1;
    }
    return 0;
}

static int to_commit(const rcn_partition *p, int only_changed, const rd_kafka_topic_partition_list_t *only) {
    /* A partition between an eager revoke and the next assign is not
     * ours to commit: its new owner may already be further along. */
    if (p->stored_offset < 0 || !p->assigned || !in_filter(only, p)) return 0;
    return !only_changed || p->stored_offset != p->committed_offset;
}

int rcn_offsets_uncommitted(const rcn_partition_table *t) {
    for (size_t i = 0; i < t->len; i++) {
        if (to_commit(&t->items[i], 1, NULL)) return 1;
    }
    return 0;
}

rd_kafka_topic_partition_list_t *rcn_offsets_to_commit(const rcn_partition_table *t, int only_changed,
                                                       const rd_kafka_topic_partition_list_t *only) {
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < t->len; i++) {
        const rcn_partition *p = &t->items[i];
        if (!to_commit(p, only_changed, only)) continue;
        if (!list) list = rd_kafka_topic_partition_list_new((int)t->len);
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->stored_offset;
    }
    return list;
}

void rcn_offsets_committed(rcn_partition_table *t, const rd_kafka_topic_partition_list_t *list) {
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (tp->err) continue;
        rcn_partition *p = rcn_ptable_find(t, tp->topic, tp->partition);
        if (p && p->committed_offset < tp->offset) p->committed_offset = tp->offset;
    }
}
