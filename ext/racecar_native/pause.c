/* Pause state transitions of one partition. The runner pauses a partition
 * after a failed call and resumes it when its deadline passes; consecutive
 * failures count up (and double the pause with exponential backoff) until a
 * call succeeds. */
#include "pause.h"

int64_t rcn_pause_duration(const rcn_pause_policy *policy, int failures) {
    if (policy->timeout_ms <= 0) return policy->timeout_ms;
    int64_t duration = policy->timeout_ms;
    if (policy->exponential) {
        for (int i = 1; i < failures; i++) {
            if (policy->max_timeout_ms > 0 && duration >= policy->max_timeout_ms) break;
            if (duration > INT64_MAX / 2) break;
            duration *= 2;
        }
    }
    if (policy->max_timeout_ms > 0 && duration > policy->max_timeout_ms)
        duration = policy->max_timeout_ms;
    return duration;
}

int64_t rcn_pause_failure(rcn_partition *p, const rcn_pause_policy *policy, int64_t now_ms, int64_t seek_offset) {
    p->failures++;
    p->seek_offset = seek_offset;
    int64_t duration = rcn_pause_duration(policy, p->failures);
    if (duration == 0) {
        p->paused = 0;
        return 0;
    }
    p->paused = 1;
    p->paused_at_ms = now_ms;
    /* Saturating: a pause doubled many times must not wrap into the past. */
    p->resume_at_ms = duration < 0 ? -1 : (duration > INT64_MAX - now_ms ? INT64_MAX : now_ms + duration);
    return duration;
}

int rcn_pause_due(const rcn_partition *p, int64_t now_ms) {
    return p->paused && p->resume_at_ms >= 0 && p->resume_at_ms <= now_ms;
}

void rcn_pause_resumed(rcn_partition *p) {
    p->paused = 0;
}

void rcn_pause_succeeded(rcn_partition *p) {
    p->failures = 0;
    p->seek_offset = -1;
}

int64_t rcn_pause_next_due_in(const rcn_partition_table *t, int64_t now_ms) {
    int64_t best = -1;
    for (size_t i = 0; i < t->len; i++) {
        const rcn_partition *p = &t->items[i];
        if (!p->paused || p->resume_at_ms < 0) continue;
        int64_t in = p->resume_at_ms - now_ms;
        if (in < 0) in = 0;
        if (best < 0 || in < best) best = in;
    }
    return best;
}
