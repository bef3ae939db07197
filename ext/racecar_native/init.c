/* Entry point of the extension: defines Racecar::Native and wires the error
 * classes that lib/racecar/errors.rb defined before this file was loaded. */
#include "racecar_native.h"

VALUE rcn_mRacecar;
VALUE rcn_mNative;
VALUE rcn_eError;
VALUE rcn_eConfigError;
VALUE rcn_eKafkaError;
VALUE rcn_eDeliveryError;

// The loaded library's version: the spec banner names the CI leg with it, and
// checks of what the library can do (e.g. the group protocol) read it.
static VALUE native_librdkafka_version(VALUE mod) {
    return rb_str_new_cstr(rd_kafka_version_str());
}

__attribute__((visibility("default"))) void Init_racecar_native(void) {
    rcn_mRacecar = rb_define_module("Racecar");
    rcn_mNative = rb_define_module_under(rcn_mRacecar, "Native");
    rcn_eError = rb_const_get(rcn_mRacecar, rb_intern("Error"));
    rcn_eConfigError = rb_const_get(rcn_mRacecar, rb_intern("ConfigError"));
    rcn_eKafkaError = rb_const_get(rcn_mRacecar, rb_intern("KafkaError"));
    rcn_eDeliveryError = rb_const_get(rcn_mRacecar, rb_intern("MessageDeliveryError"));
    rb_gc_register_mark_object(rcn_eError);
    rb_gc_register_mark_object(rcn_eConfigError);
    rb_gc_register_mark_object(rcn_eKafkaError);
    rb_gc_register_mark_object(rcn_eDeliveryError);

    if (rd_kafka_version() < 0x020000ff)
        rb_raise(rb_eLoadError, "racecar needs librdkafka >= 2.0.0, this process loaded %s", rd_kafka_version_str());

    rb_define_module_function(rcn_mNative, "librdkafka_version", native_librdkafka_version, 0);
    rcn_message_init(rcn_mRacecar);
    rcn_consumer_init(rcn_mNative);
    rcn_producer_init(rcn_mNative);
    rcn_producer_hot_path_init(rcn_mNative);
    rcn_admin_init(rcn_mNative);
    rcn_mock_cluster_init(rcn_mNative); /* test-only: mock_cluster.c */
}
