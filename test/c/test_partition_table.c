/* The partition table (partition_table.c): find, insert with defaults,
 * growth past the first allocation, removal and pruning. */
#include "ctest.h"
#include "partition_table.h"
#include <stdio.h>
#include <string.h>

static void test_fetch_and_find(void) {
    rcn_partition_table t;
    rcn_ptable_init(&t);
    CHECK(rcn_ptable_find(&t, "a", 0) == NULL, "empty table finds nothing");

    rcn_partition *p = rcn_ptable_fetch(&t, "a", 0);
    CHECK(p != NULL, "fetch adds a partition");
    CHECK_EQ(t.len, 1, "table holds one entry");
    CHECK(strcmp(p->topic, "a") == 0 && p->partition == 0, "entry names its topic and partition");
    CHECK(!p->assigned && !p->paused && p->failures == 0, "a new entry is unassigned, unpaused, without failures");
    CHECK(p->stored_offset == -1 && p->committed_offset == -1 && p->next_offset == -1 && p->seek_offset == -1,
          "a new entry's offsets are unknown (-1)");

    char topic[8] = "a";
    CHECK(rcn_ptable_fetch(&t, topic, 0) == p, "fetch of an existing partition returns it");
    topic[0] = 'z';
    CHECK(strcmp(p->topic, "a") == 0, "the table keeps its own copy of the topic name");
    CHECK_EQ(t.len, 1, "no duplicate entry");
    CHECK(rcn_ptable_find(&t, "a", 1) == NULL, "another partition of the topic is not found");
    CHECK(rcn_ptable_find(&t, "b", 0) == NULL, "the same partition of another topic is not found");
    rcn_ptable_destroy(&t);
    CHECK(t.len == 0 && t.items == NULL, "destroy empties the table");
}

static void test_growth(void) {
    rcn_partition_table t;
    rcn_ptable_init(&t);
    char name[32];
    int ok = 1;
    for (int32_t i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "topic-%d", i % 7);
        rcn_partition *p = rcn_ptable_fetch(&t, name, i);
        if (!p) ok = 0; else p->stored_offset = i * 10;
    }
    CHECK(ok, "100 partitions are added (past the first 16 slots)");
    CHECK_EQ(t.len, 100, "table holds 100 entries");
    CHECK(t.cap >= 100, "capacity grew");
    ok = 1;
    for (int32_t i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "topic-%d", i % 7);
        rcn_partition *p = rcn_ptable_find(&t, name, i);
        if (!p || p->stored_offset != i * 10 || p->partition != i) ok = 0;
    }
    CHECK(ok, "every entry keeps its state across growth");

    rcn_ptable_remove(&t, "topic-3", 3);
    CHECK_EQ(t.len, 99, "remove drops one entry");
    CHECK(rcn_ptable_find(&t, "topic-3", 3) == NULL, "the removed entry is gone");
    CHECK(rcn_ptable_find(&t, "topic-1", 99) != NULL, "the moved last entry is still found");
    rcn_ptable_remove(&t, "nope", 1);
    CHECK_EQ(t.len, 99, "removing an unknown partition changes nothing");
    rcn_ptable_destroy(&t);
}

static void test_prune(void) {
    rcn_partition_table t;
    rcn_ptable_init(&t);
    for (int32_t i = 0; i < 6; i++) rcn_ptable_fetch(&t, "t", i)->assigned = (i % 2 == 0);
    rcn_ptable_find(&t, "t", 5); /* remember a hit that pruning removes */
    rcn_ptable_prune_unassigned(&t);
    CHECK_EQ(t.len, 3, "prune keeps only assigned entries");
    int ok = 1;
    for (int32_t i = 0; i < 6; i++) {
        rcn_partition *p = rcn_ptable_find(&t, "t", i);
        if ((p != NULL) != (i % 2 == 0)) ok = 0;
    }
    CHECK(ok, "the even (assigned) partitions remain, the odd ones are gone");
    rcn_ptable_prune_unassigned(&t);
    CHECK_EQ(t.len, 3, "pruning again changes nothing");
    rcn_ptable_destroy(&t);
}

int main(void) {
    test_fetch_and_find();
    test_growth();
    test_prune();
    return ctest_summary();
}
