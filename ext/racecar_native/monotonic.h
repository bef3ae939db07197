/* The monotonic clock, and condition variables that wait against it, so a
 * wall-clock jump never stretches or cuts a wait (pure C). */
#ifndef RCN_MONOTONIC_H
#define RCN_MONOTONIC_H

#include <pthread.h>
#include <stdint.h>

int64_t rcn_monotonic_ms(void);
void rcn_cond_init_monotonic(pthread_cond_t *cond);
/* Waits on cond (lock held) until signalled or until the monotonic deadline. */
void rcn_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t deadline_ms);

#endif
