/* A small array of partition records. Consumers own tens to hundreds of
 * partitions, and lookups come in runs of one partition, so a linear scan with a
 * remembered last hit beats a hash table here. */
#include "partition_table.h"
#include "grow_array.h"
#include <stdlib.h>
#include <string.h>

void rcn_ptable_init(rcn_partition_table *t) {
    memset(t, 0, sizeof(*t));
}

void rcn_ptable_destroy(rcn_partition_table *t) {
    for (size_t i = 0; i < t->len; i++) free(t->items[i].topic);
    free(t->items);
    memset(t, 0, sizeof(*t));
}

static int matches(const rcn_partition *p, const char *topic, int32_t partition) {
    return p->partition == partition && strcmp(p->topic, topic) == 0;
}

rcn_partition *rcn_ptable_find(rcn_partition_table *t, const char *topic, int32_t partition) {
    if (t->last_hit < t->len && matches(&t->items[t->last_hit], topic, partition))
        return &t->items[t->last_hit];
    for (size_t i = 0; i < t->len; i++) {
        if (matches(&t->items[i], topic, partition)) {
            t->last_hit = i;
            return &t->items[i];
        }
    }
    return NULL;
}

rcn_partition *rcn_ptable_fetch(rcn_partition_table *t, const char *topic, int32_t partition) {
    rcn_partition *found = rcn_ptable_find(t, topic, partition);
    if (found) return found;
    rcn_partition *items = rcn_grow_array(t->items, t->len, &t->cap, 16, sizeof(*items));
    if (!items) return NULL;
    t->items = items;
    char *name = strdup(topic);
    if (!name) return NULL;
    rcn_partition *p = &t->items[t->len++];
    memset(p, 0, sizeof(*p));
    p->topic = name;
    p->partition = partition;
    p->resume_at_ms = 0;
    p->seek_offset = -1;
    p->stored_offset = -1;
    p->committed_offset = -1;
    p->next_offset = -1;
    return p;
}

static void remove_at(rcn_partition_table *t, size_t i) {
    free(t->items[i].topic);
    t->items[i] = t->items[t->len - 1];
    t->len--;
    t->last_hit = 0;
}

void rcn_ptable_prune_unassigned(rcn_partition_table *t) {
    size_t i = 0;
    while (i < t->len) {
        if (!t->items[i].assigned) remove_at(t, i); else i++;
    }
}

void rcn_ptable_remove(rcn_partition_table *t, const char *topic, int32_t partition) {
    rcn_partition *p = rcn_ptable_find(t, topic, partition);
    if (p) remove_at(t, (size_t)(p - t->items));
}
