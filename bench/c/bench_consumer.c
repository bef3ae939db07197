/* The consumer ceiling: a plain librdkafka high-level consumer doing the
 * least any at-least-once consumer must do, the way racecar's loop does it:
 * subscribe with a group, poll batches from the consumer queue, store the
 * next offset of every partition once per batch, commit once at the end.
 *
 *   bench_consumer -t TOPIC -n COUNT [-b BATCH] [-w WAIT_MS] [-T TIMEOUT_S] [-X key=value ...]
 *                  [-d NANOSECONDS]
 *
 * -d (a diagnostic, never used for the ceiling) spins that long per message,
 * to show what librdkafka 2.0.2's prefetching does to a consumer as slow as
 * Ruby (bench/README.md, "The one-second fetch stall").
 *
 * Prints one JSON line: messages, bytes, seconds (first message to the
 * COUNT-th), rate, peak_rss_kb. Exits 1 when COUNT is not reached in time. */
#include "bench_common.h"
#include <getopt.h>
#include <stdint.h>

#define MAX_PARTITIONS 1024

static void usage(void) {
    fprintf(stderr, "usage: bench_consumer -t topic -n count [-b batch] [-w wait_ms] [-T timeout_s] [-X key=value]... [-d ns]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *topic = NULL;
    long target = 0, batch_size = 1000, wait_ms = 1000, timeout_s = 300, spin_ns = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int opt;
    while ((opt = getopt(argc, argv, "t:n:b:w:T:X:d:")) != -1) {
        switch (opt) {
        case 't': topic = optarg; break;
        case 'n': target = atol(optarg); break;
        case 'b': batch_size = atol(optarg); break;
        case 'w': wait_ms = atol(optarg); break;
        case 'T': timeout_s = atol(optarg); break;
        case 'X': bench_conf_set(conf, optarg); break;
        case 'd': spin_ns = atol(optarg); break;
        default: usage();
        }
    }
    if (!topic || target <= 0 || batch_size <= 0) usage();
    double spin = (double)spin_ns / 1e9;
    /* Racecar's native consumer forces these whatever the configuration
     * says: offsets are stored after processing and committed by the loop. */
    bench_conf_set(conf, "enable.auto.offset.store=false");
    bench_conf_set(conf, "enable.auto.commit=false");

    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_topic_partition_list_t *subscription = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subscription, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, subscription);
    rd_kafka_topic_partition_list_destroy(subscription);
    if (err) {
        fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
        return 2;
    }

    rd_kafka_message_t **batch = malloc((size_t)batch_size * sizeof(*batch));
    int64_t next_offset[MAX_PARTITIONS];
    int touched[MAX_PARTITIONS];
    long count = 0;
    unsigned long long bytes = 0;
    double started = 0, finished = 0;
    double give_up = bench_now() + (double)timeout_s;

    while (count < target && bench_now() < give_up) {
        ssize_t got = rd_kafka_consume_batch_queue(queue, (int)wait_ms, batch, (size_t)batch_size);
        if (got <= 0) continue;
        if (count == 0) started = bench_now();
        memset(touched, 0, sizeof(touched));
        int touched_count = 0;
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = batch[i];
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    fprintf(stderr, "consume error: %s\n", rd_kafka_message_errstr(m));
            } else if (m->partition >= 0 && m->partition < MAX_PARTITIONS) {
                count++;
                bytes += m->len;
                if (!touched[m->partition]) touched_count++;
                touched[m->partition] = 1;
                next_offset[m->partition] = m->offset + 1;
                if (spin > 0) {
                    double until = bench_now() + spin;
                    while (bench_now() < until) {}
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (touched_count > 0) {
            rd_kafka_topic_partition_list_t *store = rd_kafka_topic_partition_list_new(touched_count);
            for (int p = 0; p < MAX_PARTITIONS; p++) {
                if (touched[p]) rd_kafka_topic_partition_list_add(store, topic, p)->offset = next_offset[p];
            }
            rd_kafka_offsets_store(rk, store);
            rd_kafka_topic_partition_list_destroy(store);
        }
        if (count >= target) finished = bench_now();
    }

    err = rd_kafka_commit(rk, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) fprintf(stderr, "commit: %s\n", rd_kafka_err2str(err));
    long rss = bench_peak_rss_kb();
    rd_kafka_consumer_close(rk);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    free(batch);

    double seconds = finished > started ? finished - started : 0;
    printf("{\"messages\":%ld,\"bytes\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"peak_rss_kb\":%ld}\n", count, bytes,
           seconds, seconds > 0 ? (double)count / seconds : 0.0, rss);
    if (count < target) {
        fprintf(stderr, "only %ld of %ld messages within %lds\n", count, target, timeout_s);
        return 1;
    }
    return 0;
}
