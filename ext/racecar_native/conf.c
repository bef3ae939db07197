/* Turns a Ruby Hash of librdkafka properties into an rd_kafka_conf_t. A
 * property librdkafka rejects raises Racecar::ConfigError with librdkafka's own
 * words, and nothing leaks on the way out. */
#include "racecar_native.h"
#include <string.h>

typedef struct {
    rd_kafka_conf_t *conf;
    char errstr[512];
    int failed;
} conf_build;

static int set_property(VALUE key, VALUE value, VALUE data) {
    conf_build *build = (conf_build *)data;
    if (NIL_P(value)) return ST_CONTINUE;
    VALUE k = rb_obj_as_string(key);
    VALUE v = rb_obj_as_string(value);
    char err[400];
    if (rd_kafka_conf_set(build->conf, StringValueCStr(k), StringValueCStr(v), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(build->errstr, sizeof(build->errstr), "librdkafka rejected property %s: %s",
                 StringValueCStr(k), err);
        build->failed = 1;
        return ST_STOP;
    }
    return ST_CONTINUE;
}

typedef struct {
    conf_build *build;
    VALUE properties;
} fill_args;

static VALUE fill_conf_body(VALUE data) {
    fill_args *args = (fill_args *)data;
    rb_hash_foreach(args->properties, set_property, (VALUE)args->build);
    return Qnil;
}

static VALUE destroy_conf_on_raise(VALUE data, VALUE exc) {
    conf_build *build = (conf_build *)data;
    rd_kafka_conf_destroy(build->conf);
    build->conf = NULL;
    rb_exc_raise(exc);
    return Qnil;
}

rd_kafka_conf_t *rcn_conf_from_hash(VALUE properties) {
    Check_Type(properties, T_HASH);
    conf_build build = {rd_kafka_conf_new(), {0}, 0};
    fill_args args = {&build, properties};
    /* to_s on a key or value may raise: the conf must not leak then. */
    rb_rescue2(fill_conf_body, (VALUE)&args, destroy_conf_on_raise, (VALUE)&build, rb_eException, (VALUE)0);
    if (build.failed) {
        rd_kafka_conf_destroy(build.conf);
        rb_raise(rcn_eConfigError, "%s", build.errstr);
    }
    return build.conf;
}
