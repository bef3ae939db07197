/* Offset lists for librdkafka, built from the partition table (pure C). */
#ifndef RCN_OFFSETS_H
#define RCN_OFFSETS_H

#include "partition_table.h"
#include <librdkafka/rdkafka.h>

/* Adds or raises the offset to store for one partition in a batch list. */
void rcn_offsets_add(rd_kafka_topic_partition_list_t *list, const char *topic, int32_t partition, int64_t offset);
/* Every assigned partition with a stored offset: what a commit should send
 * (partitions no longer assigned are left out).
 * With only_changed, partitions whose stored offset was already committed
 * are left out. Returns NULL when the list would be empty. */
rd_kafka_topic_partition_list_t *rcn_offsets_to_commit(const rcn_partition_table *t, int only_changed,
                                                       const rd_kafka_topic_partition_list_t *only);
/* Whether rcn_offsets_to_commit(t, 1, NULL) would send anything. */
int rcn_offsets_uncommitted(const rcn_partition_table *t);
/* After a successful commit: remember what the broker has. */
void rcn_offsets_committed(rcn_partition_table *t, const rd_kafka_topic_partition_list_t *list);

#endif
