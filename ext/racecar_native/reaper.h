/* The reaper: one native thread that destroys librdkafka handles (and the C
 * state their callbacks still use) away from Ruby. A free function must not
 * block, and a GC sweep runs with the GVL held, so a dfree hands the handle
 * over here and returns at once (pure C, no Ruby). */
#ifndef RCN_REAPER_H
#define RCN_REAPER_H

#include <stdint.h>

typedef void (*rcn_reap_fn)(void *arg);

/* Runs fn(arg) later on the reaper thread. 0 when queued; -1 when no
 * thread could be started (out of memory), and the caller must run it. */
int rcn_reaper_submit(rcn_reap_fn fn, void *arg);
/* Waits until every job submitted so far has run, at most timeout_ms;
 * 0 when all ran. */
int rcn_reaper_drain(int64_t timeout_ms);
/* Jobs queued or running (a diagnostic for specs). */
long rcn_reaper_pending(void);

#endif
