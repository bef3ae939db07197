/* Racecar::Native::ProducerHotPath, included into Racecar::Producer: its
 * produce_async_positional, the per-message path of Racecar.produce_async.
 * As a Ruby method it cost about as much as librdkafka's own enqueue (the
 * instrumenter check, the handle checks, a second call into C); here it is
 * one ivar read. Whatever is not the common case (someone listens, a
 * partition_key or create_time, no handle yet, a refused message) goes to
 * the Ruby method produce_async_general, which does all of it. */
#include "racecar_native.h"

static ID id_native, id_reporter, id_general, id_ensure_reporter;

/* produce_async_positional(value, topic, key, partition, partition_key,
 * headers, create_time) -> nil */
static VALUE produce_async_positional(VALUE self, VALUE value, VALUE topic, VALUE key, VALUE partition,
                                      VALUE partition_key, VALUE headers, VALUE create_time) {
    VALUE native = rb_ivar_get(self, id_native);
    if (!NIL_P(native) && NIL_P(partition_key) && NIL_P(create_time)) {
        switch (rcn_producer_produce_async(native, topic, value, key, partition, headers)) {
        case RCN_PRODUCE_TRACKED:
            return Qnil;
        case RCN_PRODUCE_UNTRACKED:
            /* Counted before @reporter is read, as the reporter expects. */
            if (NIL_P(rb_ivar_get(self, id_reporter))) rb_funcall(self, id_ensure_reporter, 0);
            return Qnil;
        case RCN_PRODUCE_DECLINED:
            break;
        }
    }
    VALUE args[7] = {value, topic, key, partition, partition_key, headers, create_time};
    return rb_funcallv(self, id_general, 7, args);
}

void rcn_producer_hot_path_init(VALUE mNative) {
    id_native = rb_intern("@native");
    id_reporter = rb_intern("@reporter");
    id_general = rb_intern("produce_async_general");
    id_ensure_reporter = rb_intern("ensure_reporter");
    VALUE mHotPath = rb_define_module_under(mNative, "ProducerHotPath");
    rb_define_method(mHotPath, "produce_async_positional", produce_async_positional, 7);
}
