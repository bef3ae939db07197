/* Pause and backoff arithmetic (pause.c): fixed, exponential, capped and
 * infinite pauses, expiry, and the earliest deadline across a table. */
#include "ctest.h"
#include "pause.h"

static void test_durations(void) {
    rcn_pause_policy never = {0, 0, 0};
    CHECK_EQ(rcn_pause_duration(&never, 1), 0, "timeout 0 never pauses");

    rcn_pause_policy forever = {-1, 1, 0};
    CHECK_EQ(rcn_pause_duration(&forever, 5), -1, "timeout -1 pauses until restart");

    rcn_pause_policy fixed = {500, 0, 0};
    CHECK_EQ(rcn_pause_duration(&fixed, 1), 500, "fixed pause on the first failure");
    CHECK_EQ(rcn_pause_duration(&fixed, 7), 500, "fixed pause does not grow");

    rcn_pause_policy doubling = {100, 1, 0};
    CHECK_EQ(rcn_pause_duration(&doubling, 1), 100, "exponential: first failure is the base");
    CHECK_EQ(rcn_pause_duration(&doubling, 2), 200, "exponential: second failure doubles");
    CHECK_EQ(rcn_pause_duration(&doubling, 4), 800, "exponential: fourth failure is 8x");
    CHECK(rcn_pause_duration(&doubling, 100000) > 0, "exponential without cap never overflows to <= 0");

    rcn_pause_policy capped = {100, 1, 1000};
    CHECK_EQ(rcn_pause_duration(&capped, 4), 800, "capped: below the cap it doubles");
    CHECK_EQ(rcn_pause_duration(&capped, 5), 1000, "capped: 1600 is cut to the cap");
    CHECK_EQ(rcn_pause_duration(&capped, 60), 1000, "capped: many failures stay at the cap");

    rcn_pause_policy base_over_cap = {5000, 0, 1000};
    CHECK_EQ(rcn_pause_duration(&base_over_cap, 1), 1000, "a base above the cap is cut to the cap");
}

static void test_transitions(void) {
    rcn_partition_table t;
    rcn_ptable_init(&t);
    rcn_partition *p = rcn_ptable_fetch(&t, "orders", 3);
    rcn_pause_policy policy = {100, 1, 0};

    CHECK_EQ(rcn_pause_failure(p, &policy, 1000, 42), 100, "first failure pauses for the base");
    CHECK(p->paused, "partition is paused after a failure");
    CHECK_EQ(p->failures, 1, "one failure counted");
    CHECK_EQ(p->seek_offset, 42, "seek offset recorded");
    CHECK_EQ(p->resume_at_ms, 1100, "resume deadline is now + duration");
    CHECK(!rcn_pause_due(p, 1099), "not due before the deadline");
    CHECK(rcn_pause_due(p, 1100), "due at the deadline");
    CHECK_EQ(rcn_pause_next_due_in(&t, 1050), 50, "next due in 50 ms");
    CHECK_EQ(rcn_pause_next_due_in(&t, 5000), 0, "an overdue pause is due in 0 ms");

    rcn_pause_resumed(p);
    CHECK(!p->paused, "resumed partition is not paused");
    CHECK_EQ(rcn_pause_next_due_in(&t, 1050), -1, "nothing waits after the resume");

    CHECK_EQ(rcn_pause_failure(p, &policy, 2000, 42), 200, "second consecutive failure doubles");
    CHECK_EQ(p->failures, 2, "two failures counted");
    rcn_pause_resumed(p);
    rcn_pause_succeeded(p);
    CHECK_EQ(p->failures, 0, "success resets the failure count");
    CHECK_EQ(p->seek_offset, -1, "success forgets the seek offset");
    CHECK_EQ(rcn_pause_failure(p, &policy, 3000, 50), 100, "after a success the backoff starts over");

    rcn_pause_policy forever = {-1, 0, 0};
    rcn_partition *q = rcn_ptable_fetch(&t, "orders", 4);
    CHECK_EQ(rcn_pause_failure(q, &forever, 1000, 7), -1, "infinite pause returns -1");
    CHECK(q->paused && q->resume_at_ms == -1, "infinite pause has no deadline");
    CHECK(!rcn_pause_due(q, INT64_MAX), "infinite pause is never due");
    CHECK_EQ(rcn_pause_next_due_in(&t, 3000), 100, "infinite pause is ignored for the next deadline");

    rcn_pause_policy never = {0, 0, 0};
    rcn_partition *r = rcn_ptable_fetch(&t, "orders", 5);
    CHECK_EQ(rcn_pause_failure(r, &never, 1000, 9), 0, "timeout 0: failure does not pause");
    CHECK(!r->paused, "timeout 0: partition stays unpaused");
    CHECK_EQ(r->failures, 1, "timeout 0: the failure still counts (retries_count)");

    rcn_pause_policy huge = {INT64_MAX / 2 + 1, 1, 0};
    rcn_partition *s = rcn_ptable_fetch(&t, "orders", 6);
    rcn_pause_failure(s, &huge, 1000, 0);
    rcn_pause_failure(s, &huge, 1000, 0);
    CHECK(s->resume_at_ms > 1000, "a huge pause saturates instead of wrapping into the past");

    rcn_ptable_destroy(&t);
}

int main(void) {
    test_durations();
    test_transitions();
    return ctest_summary();
}
