/* One place that releases the GVL. rb_thread_call_without_gvl checks Ruby's
 * interrupts after the call returns and may raise there, before the caller
 * has taken what the call produced (messages, a commit result, an admin
 * event): those leaked. Here the blocking function itself stores its result
 * where the handle owns it, and the call runs with RB_NOGVL_INTR_FAIL, so
 * the caller checks interrupts (rb_thread_check_ints) once it is done. */
#include "racecar_native.h"

typedef struct {
    void *(*fn)(void *);
    void *arg;
    int ran;
} blocking_call;

static void *run_blocking(void *data) {
    blocking_call *call = data;
    call->ran = 1;
    return call->fn(call->arg);
}

int rcn_without_gvl(void *(*fn)(void *), void *arg, void (*ubf)(void *), void *ubf_arg) {
    blocking_call call = {fn, arg, 0};
    rb_nogvl(run_blocking, &call, ubf, ubf_arg, RB_NOGVL_INTR_FAIL);
    if (call.ran) return 1;
    /* An interrupt was pending, so fn did not run. Serve it (it may raise).
     * Under GC.stress every attempt queues a new one (the GC finalizes
     * something while rb_nogvl allocates), and INTR_FAIL would never run fn:
     * the second attempt runs it whatever arrives; should an interrupt raise
     * after fn, fn's results are already the handle's. */
    rb_thread_check_ints();
    rb_nogvl(run_blocking, &call, ubf, ubf_arg, 0);
    return call.ran;
}
