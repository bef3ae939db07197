/* One place that releases the GVL, so every blocking librdkafka call gets an
 * unblocking function that really wakes it (Ruby's default one cannot wake a
 * condition-variable wait inside librdkafka). */
#include "racecar_native.h"

void rcn_without_gvl(void *(*fn)(void *), void *arg, void (*ubf)(void *), void *ubf_arg) {
    rb_thread_call_without_gvl(fn, arg, ubf, ubf_arg);
}
