/* Offset lists (offsets.c): the batch store list keeps the highest offset
 * per partition; the commit list holds assigned partitions with a stored
 * offset, optionally only changed ones or a subset; a successful commit is
 * remembered per partition. */
#include "ctest.h"
#include "offsets.h"

static int64_t offset_in(const rd_kafka_topic_partition_list_t *list, const char *topic, int32_t partition) {
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)list, topic, partition);
    return tp ? tp->offset : -999;
}

static void test_add(void) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    rcn_offsets_add(list, "a", 0, 5);
    rcn_offsets_add(list, "a", 0, 9);
    rcn_offsets_add(list, "a", 0, 7);
    rcn_offsets_add(list, "a", 1, 3);
    rcn_offsets_add(list, "b", 0, 1);
    CHECK_EQ(list->cnt, 3, "one entry per topic partition");
    CHECK_EQ(offset_in(list, "a", 0), 9, "the highest offset wins, a lower one never lowers it");
    CHECK_EQ(offset_in(list, "a", 1), 3, "partitions are kept apart");
    CHECK_EQ(offset_in(list, "b", 0), 1, "topics are kept apart");
    rd_kafka_topic_partition_list_destroy(list);
}

static void test_to_commit(void) {
    rcn_partition_table t;
    rcn_ptable_init(&t);
    CHECK(rcn_offsets_to_commit(&t, 0, NULL) == NULL, "an empty table commits nothing (NULL)");
    CHECK(!rcn_offsets_uncommitted(&t), "an empty table has nothing uncommitted");

    rcn_partition *a0 = rcn_ptable_fetch(&t, "a", 0);
    rcn_partition *a1 = rcn_ptable_fetch(&t, "a", 1);
    rcn_partition *b0 = rcn_ptable_fetch(&t, "b", 0);
    rcn_partition *b1 = rcn_ptable_fetch(&t, "b", 1);
    a0->assigned = a1->assigned = b0->assigned = 1;
    b1->assigned = 0;       /* revoked: its new owner may be further along */
    a0->stored_offset = 10;
    a1->stored_offset = 20;
    a1->committed_offset = 20;
    b0->stored_offset = -1; /* nothing processed yet */
    b1->stored_offset = 40;

    rd_kafka_topic_partition_list_t *all = rcn_offsets_to_commit(&t, 0, NULL);
    CHECK(all != NULL && all->cnt == 2, "all: the two assigned partitions with a stored offset");
    CHECK_EQ(offset_in(all, "a", 0), 10, "all: a/0 at its stored offset");
    CHECK_EQ(offset_in(all, "a", 1), 20, "all: a/1 even though already committed");
    CHECK_EQ(offset_in(all, "b", 1), -999, "all: an unassigned partition is left out");
    rd_kafka_topic_partition_list_destroy(all);

    CHECK(rcn_offsets_uncommitted(&t), "a/0 is uncommitted");
    rd_kafka_topic_partition_list_t *changed = rcn_offsets_to_commit(&t, 1, NULL);
    CHECK(changed != NULL && changed->cnt == 1, "changed: only a/0");
    CHECK_EQ(offset_in(changed, "a", 0), 10, "changed: a/0 at 10");

    rd_kafka_topic_partition_list_t *only = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(only, "a", 1);
    rd_kafka_topic_partition_list_t *subset = rcn_offsets_to_commit(&t, 0, only);
    CHECK(subset != NULL && subset->cnt == 1 && offset_in(subset, "a", 1) == 20, "a filter keeps only its partitions");
    rd_kafka_topic_partition_list_destroy(subset);
    CHECK(rcn_offsets_to_commit(&t, 1, only) == NULL, "a filter of unchanged partitions commits nothing");
    rd_kafka_topic_partition_list_destroy(only);

    /* The broker accepted a/0; a failed entry is not remembered. */
    changed->elems[0].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_add(changed, "b", 0)->offset = 30;
    rd_kafka_topic_partition_list_find(changed, "b", 0)->err = RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
    rcn_offsets_committed(&t, changed);
    CHECK_EQ(a0->committed_offset, 10, "a committed offset is remembered");
    CHECK_EQ(b0->committed_offset, -1, "a failed commit entry is not remembered");
    CHECK(!rcn_offsets_uncommitted(&t), "nothing uncommitted after the commit");
    CHECK(rcn_offsets_to_commit(&t, 1, NULL) == NULL, "changed: nothing left to send");

    changed->elems[0].offset = 5;
    rcn_offsets_committed(&t, changed);
    CHECK_EQ(a0->committed_offset, 10, "a late, lower commit result never lowers the committed offset");
    rd_kafka_topic_partition_list_destroy(changed);

    a0->stored_offset = 11;
    CHECK(rcn_offsets_uncommitted(&t), "storing past the commit makes it uncommitted again");
    rcn_ptable_destroy(&t);
}

int main(void) {
    test_add();
    test_to_commit();
    return ctest_summary();
}
