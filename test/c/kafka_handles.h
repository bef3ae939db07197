/* librdkafka handles for the engine tests: a producer that talks to no
 * broker (topic handles, error strings, message structs need only the
 * handle), and a mock cluster inside it for tests that need messages. */
#ifndef RCN_TEST_KAFKA_HANDLES_H
#define RCN_TEST_KAFKA_HANDLES_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

static void test_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "conf %s=%s: %s\n", name, value, errstr);
        exit(2);
    }
}

/* bootstrap NULL: no broker at all (nothing is ever sent). */
static rd_kafka_t *test_handle(rd_kafka_type_t type, const char *bootstrap, const char *group) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    test_conf_set(conf, "log_level", "0"); /* "no bootstrap.servers" is expected here */
    if (bootstrap) test_conf_set(conf, "bootstrap.servers", bootstrap);
    if (group) {
        test_conf_set(conf, "group.id", group);
        test_conf_set(conf, "enable.auto.commit", "false");
        test_conf_set(conf, "auto.offset.reset", "earliest");
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        exit(2);
    }
    return rk;
}

#endif
