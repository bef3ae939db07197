/* The reaper thread (reaper.h). Started on first use and again in a forked
 * child, whose copy of the queue names the parent's handles and is dropped:
 * librdkafka's threads live only in the parent. At exit the process waits
 * (bounded) for the queue to empty, so no handle is left half destroyed. */
#include "reaper.h"
#include "monotonic.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct reap_job {
    rcn_reap_fn fn;
    void *arg;
    struct reap_job *next;
} reap_job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;          /* jobs queued, or one finished */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static reap_job *head, *tail;
static long pending;                 /* queued + running */
static int started;

#define EXIT_DRAIN_MS 30000

static void *reaper_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head) pthread_cond_wait(&cond, &lock);
        reap_job *job = head;
        head = job->next;
        if (!head) tail = NULL;
        pthread_mutex_unlock(&lock);
        job->fn(job->arg);
        free(job);
        pthread_mutex_lock(&lock);
        pending--;
        pthread_cond_broadcast(&cond);
    }
    return NULL;
}

static void drain_at_exit(void) {
    rcn_reaper_drain(EXIT_DRAIN_MS);
}

/* The child has no reaper thread and must not touch the parent's handles. */
static void reset_in_child(void) {
    pthread_mutex_init(&lock, NULL);
    rcn_cond_init_monotonic(&cond);
    head = tail = NULL; /* the parent's jobs: leaked on purpose, a hang is worse */
    pending = 0;
    started = 0;
}

static void init_once(void) {
    rcn_cond_init_monotonic(&cond);
    pthread_atfork(NULL, NULL, reset_in_child);
    atexit(drain_at_exit);
}

int rcn_reaper_submit(rcn_reap_fn fn, void *arg) {
    pthread_once(&once, init_once);
    reap_job *job = malloc(sizeof(*job));
    if (!job) return -1;
    job->fn = fn;
    job->arg = arg;
    job->next = NULL;
    pthread_mutex_lock(&lock);
    if (!started) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&thread, &attr, reaper_main, NULL) == 0;
        pthread_attr_destroy(&attr);
        if (!started) {
            pthread_mutex_unlock(&lock);
            free(job);
            return -1;
        }
    }
    if (tail) tail->next = job;
    else head = job;
    tail = job;
    pending++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return 0;
}

int rcn_reaper_drain(int64_t timeout_ms) {
    pthread_once(&once, init_once);
    int64_t deadline = rcn_monotonic_ms() + timeout_ms;
    pthread_mutex_lock(&lock);
    while (pending > 0 && started && rcn_monotonic_ms() < deadline) rcn_cond_wait_until(&cond, &lock, deadline);
    int left = pending > 0 && started;
    pthread_mutex_unlock(&lock);
    return left ? -1 : 0;
}

long rcn_reaper_pending(void) {
    pthread_mutex_lock(&lock);
    long n = pending;
    pthread_mutex_unlock(&lock);
    return n;
}
