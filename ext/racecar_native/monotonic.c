/* Monotonic time for deadlines and the condition variables that wait on
 * them: delivery trackers, back-pressure and the producer's reporter. */
#include "monotonic.h"
#include <time.h>

int64_t rcn_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rcn_cond_init_monotonic(pthread_cond_t *cond) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

void rcn_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t deadline_ms) {
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(cond, lock, &ts);
}
