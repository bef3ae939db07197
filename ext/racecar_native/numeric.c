/* Ruby numbers arriving at the native objects, made safe for C. A Float that
 * is NaN, infinite or beyond int64 makes a cast to an integer undefined
 * behaviour, and a count that is multiplied into an allocation size can
 * overflow it; every refusal names the argument it refuses. */
#include "racecar_native.h"
#include "monotonic.h"
#include <limits.h>
#include <math.h>

/* Longer than any wait or pause anyone means (about 100 years), and far
 * enough from INT64_MAX that adding it to a monotonic clock reading cannot
 * overflow. */
#define RCN_MAX_DURATION_MS INT64_C(3155760000000)

int64_t rcn_seconds_to_ms(VALUE seconds, const char *name) {
    double s = NUM2DBL(seconds);
    if (isnan(s)) rb_raise(rb_eArgError, "%s must be a number of seconds, not NaN", name);
    double ms = s * 1000.0;
    if (ms >= (double)RCN_MAX_DURATION_MS) return RCN_MAX_DURATION_MS;
    if (ms <= -(double)RCN_MAX_DURATION_MS) return -RCN_MAX_DURATION_MS;
    return (int64_t)ms;
}

int64_t rcn_deadline_after(VALUE seconds, const char *name) {
    int64_t ms = rcn_seconds_to_ms(seconds, name);
    return rcn_monotonic_ms() + (ms < 0 ? 0 : ms);
}

int rcn_seconds_to_timeout_ms(VALUE seconds, const char *name) {
    int64_t ms = rcn_seconds_to_ms(seconds, name);
    if (ms < 0) return 0;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

size_t rcn_count_arg(VALUE count, const char *name) {
    long n = NUM2LONG(count);
    /* INT_MAX: librdkafka counts batches in an int, and n pointers can then
     * never overflow a size_t. */
    if (n < 1 || n > INT_MAX) rb_raise(rb_eArgError, "%s must be between 1 and %d, got %ld", name, INT_MAX, n);
    return (size_t)n;
}
