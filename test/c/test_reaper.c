/* The reaper thread (reaper.c): jobs run in order on a thread of their own,
 * drain waits for them (and gives up at its timeout), and a forked child
 * gets a reaper of its own. */
#include "ctest.h"
#include "reaper.h"
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int order[8];
static int ran;
static int on_main_thread;
static pthread_t main_thread;
static volatile int release_blocker;

static void record(void *arg) {
    usleep(2000); /* slow enough that a drain returning early sees ran < 8 */
    pthread_mutex_lock(&lock);
    if (ran < 8) order[ran] = (int)(long)arg;
    ran++;
    if (pthread_equal(pthread_self(), main_thread)) on_main_thread = 1;
    pthread_mutex_unlock(&lock);
}

static void block_until_released(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&release_blocker, __ATOMIC_ACQUIRE)) usleep(1000);
}

int main(void) {
    main_thread = pthread_self();
    CHECK_EQ(rcn_reaper_pending(), 0, "nothing pending before the first job");
    CHECK_EQ(rcn_reaper_drain(10), 0, "draining an idle reaper succeeds at once");

    int queued = 1;
    for (long i = 0; i < 8; i++) queued &= rcn_reaper_submit(record, (void *)i) == 0;
    CHECK(queued, "eight jobs queued");
    CHECK_EQ(rcn_reaper_drain(5000), 0, "drain waits for all of them");
    CHECK_EQ(rcn_reaper_pending(), 0, "nothing pending after the drain");
    CHECK_EQ(ran, 8, "every job ran once");
    int in_order = 1;
    for (int i = 0; i < 8; i++) in_order &= order[i] == i;
    CHECK(in_order, "jobs ran in the order submitted");
    CHECK(!on_main_thread, "jobs ran on the reaper thread, not the submitter's");

    rcn_reaper_submit(block_until_released, NULL);
    rcn_reaper_submit(record, (void *)8L);
    CHECK_EQ(rcn_reaper_drain(50), -1, "drain gives up at its timeout while a job blocks");
    CHECK_EQ(rcn_reaper_pending(), 2, "the blocked job and the one behind it are pending");
    __atomic_store_n(&release_blocker, 1, __ATOMIC_RELEASE);
    CHECK_EQ(rcn_reaper_drain(5000), 0, "once released, everything drains");
    CHECK_EQ(ran, 9, "the job behind the blocker ran");

    pid_t child = fork();
    if (child == 0) {
        /* The parent's reaper thread does not exist here; a new one must start. */
        int ok = rcn_reaper_submit(record, (void *)9L) == 0 && rcn_reaper_drain(5000) == 0 && ran == 10;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child runs jobs on a reaper of its own");

    return ctest_summary();
}
