/* Maps librdkafka error codes onto racecar's Ruby error classes (defined in
 * lib/racecar/errors.rb). librdkafka error objects are always destroyed
 * before raising, because raising never returns. */
#include "racecar_native.h"
#include <ctype.h>
#include <string.h>

VALUE rcn_err_code_sym(rd_kafka_resp_err_t err) {
    const char *name = rd_kafka_err2name(err);
    char buf[128];
    size_t n = 0;
    while (*name == '_') name++;
    for (; *name && n < sizeof(buf) - 1; name++) buf[n++] = (char)tolower((unsigned char)*name);
    buf[n] = '\0';
    return ID2SYM(rb_intern(buf));
}

VALUE rcn_kafka_error_new(VALUE klass, rd_kafka_resp_err_t err, int fatal, const char *message) {
    VALUE kwargs = rb_hash_new();
    rb_hash_aset(kwargs, ID2SYM(rb_intern("code")), rcn_err_code_sym(err));
    rb_hash_aset(kwargs, ID2SYM(rb_intern("fatal")), fatal ? Qtrue : Qfalse);
    VALUE args[2] = {rb_str_new_cstr(message), kwargs};
    return rb_funcallv_kw(klass, rb_intern("new"), 2, args, RB_PASS_KEYWORDS);
}

void rcn_raise_kafka(VALUE klass, rd_kafka_resp_err_t err, const char *context) {
    char message[512];
    snprintf(message, sizeof(message), "%s: %s (%s)", context, rd_kafka_err2str(err),
             rd_kafka_err2name(err));
    rb_exc_raise(rcn_kafka_error_new(klass, err, 0, message));
}

void rcn_raise_error_object(rd_kafka_error_t *error, const char *context) {
    char message[512];
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    int fatal = rd_kafka_error_is_fatal(error);
    snprintf(message, sizeof(message), "%s: %s (%s)", context, rd_kafka_error_string(error),
             rd_kafka_error_name(error));
    rd_kafka_error_destroy(error);
    rb_exc_raise(rcn_kafka_error_new(rcn_eKafkaError, code, fatal, message));
}
