/* Shared helpers of the C benchmark programs: librdkafka properties from
 * "-X key=value" arguments, a monotonic clock, and the process's peak RSS so
 * the Ruby side can compare memory as well as speed. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmHWM from /proc/self/status in kB, or -1 when unreadable. */
static inline long bench_peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* Applies one "key=value" property; exits with librdkafka's message when it
 * is rejected, since a benchmark with a silently dropped setting lies. */
static inline void bench_conf_set(rd_kafka_conf_t *conf, const char *pair) {
    char key[512];
    const char *eq = strchr(pair, '=');
    if (!eq || (size_t)(eq - pair) >= sizeof(key)) {
        fprintf(stderr, "bad property %s (want key=value)\n", pair);
        exit(2);
    }
    memcpy(key, pair, (size_t)(eq - pair));
    key[eq - pair] = '\0';
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "property %s: %s\n", pair, errstr);
        exit(2);
    }
}

#endif
