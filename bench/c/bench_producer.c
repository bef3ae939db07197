/* The producer ceiling (and the fast way to fill topics): a plain librdkafka
 * producer that enqueues COUNT copies of a SIZE-byte value, serving delivery
 * reports as it goes, then flushes.
 *
 *   bench_producer -t TOPIC -n COUNT [-s SIZE] [-T TIMEOUT_S] [-X key=value ...]
 *
 * Prints one JSON line: messages (acknowledged), failed, seconds (first
 * produce to the end of the flush), rate, peak_rss_kb. Exits 1 unless every
 * message was acknowledged. */
#include "bench_common.h"
#include <getopt.h>

static long delivered, failed;
static rd_kafka_resp_err_t first_error;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    if (m->err) {
        if (!failed) first_error = m->err;
        failed++;
    } else {
        delivered++;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: bench_producer -t topic -n count [-s size] [-T timeout_s] [-X key=value]...\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *topic = NULL;
    long target = 0, size = 100, timeout_s = 300;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int opt;
    while ((opt = getopt(argc, argv, "t:n:s:T:X:")) != -1) {
        switch (opt) {
        case 't': topic = optarg; break;
        case 'n': target = atol(optarg); break;
        case 's': size = atol(optarg); break;
        case 'T': timeout_s = atol(optarg); break;
        case 'X': bench_conf_set(conf, optarg); break;
        default: usage();
        }
    }
    if (!topic || target <= 0 || size < 0) usage();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);

    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 2;
    }
    char *value = malloc((size_t)size + 1);
    for (long i = 0; i < size; i++) value[i] = (char)('a' + i % 26);

    double started = bench_now();
    double give_up = started + (double)timeout_s;
    for (long i = 0; i < target && bench_now() < give_up;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                    RD_KAFKA_V_VALUE(value, (size_t)size), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10); /* wait for deliveries to make room */
            continue;
        }
        if (err) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
            return 1;
        }
        i++;
        if (i % 1000 == 0) rd_kafka_poll(rk, 0);
    }
    while (delivered + failed < target && bench_now() < give_up) rd_kafka_flush(rk, 100);
    double seconds = bench_now() - started;
    long rss = bench_peak_rss_kb();
    rd_kafka_destroy(rk);
    free(value);

    printf("{\"messages\":%ld,\"failed\":%ld,\"seconds\":%.6f,\"rate\":%.1f,\"peak_rss_kb\":%ld}\n", delivered, failed,
           seconds, seconds > 0 ? (double)delivered / seconds : 0.0, rss);
    if (failed) fprintf(stderr, "%ld deliveries failed, first: %s\n", failed, rd_kafka_err2str(first_error));
    return delivered == target ? 0 : 1;
}
