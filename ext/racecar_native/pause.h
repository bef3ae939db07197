/* Pause and backoff arithmetic for a failing partition (pure C). */
#ifndef RCN_PAUSE_H
#define RCN_PAUSE_H

#include "monotonic.h"
#include "partition_table.h"
#include <stdint.h>

typedef struct {
    int64_t timeout_ms;     /* 0: never pause, -1: pause until restart */
    int exponential;        /* double the pause on each consecutive failure */
    int64_t max_timeout_ms; /* cap for the doubling; 0 means no cap */
} rcn_pause_policy;

/* How long the n-th consecutive failure (n >= 1) pauses: -1 forever, 0 none. */
int64_t rcn_pause_duration(const rcn_pause_policy *policy, int failures);
/* Records a failure at seek_offset; returns the pause duration chosen. */
int64_t rcn_pause_failure(rcn_partition *p, const rcn_pause_policy *policy, int64_t now_ms, int64_t seek_offset);
int rcn_pause_due(const rcn_partition *p, int64_t now_ms);
void rcn_pause_resumed(rcn_partition *p);
void rcn_pause_succeeded(rcn_partition *p);
/* Milliseconds until the earliest due resume, or -1 when nothing waits. */
int64_t rcn_pause_next_due_in(const rcn_partition_table *t, int64_t now_ms);

#endif
