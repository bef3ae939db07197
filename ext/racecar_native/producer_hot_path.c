/* Racecar::Native::ProducerHotPath, included into Racecar::Producer: its
 * produce_async_positional, the per-message path of Racecar.produce_async.
 * As a Ruby method it cost about as much as librdkafka's own enqueue (the
 * instrumenter check, the handle checks, a second call into C); here it is a
 * few ivar reads. Whatever is not the common case (someone listens, a
 * partition_key or create_time, no handle yet, a refused message) goes to
 * the Ruby method produce_async_general, which does all of it. */
#include "racecar_native.h"

static ID id_native, id_silence, id_reporter, id_general, id_ensure_reporter;

/* $LOADED_FEATURES is one Array for the life of the VM (require appends to
 * it), so it is looked up once instead of by name per message. */
static VALUE loaded_features;

/* Instrumenter#silence: [the $LOADED_FEATURES size at which nobody listened
 * to any event]. Still that size: still nobody listening. */
static int instrumenter_quiet(VALUE silence) {
    if (!RB_TYPE_P(silence, T_ARRAY) || RARRAY_LEN(silence) < 1) return 0;
    return RARRAY_AREF(silence, 0) == LONG2FIX(RARRAY_LEN(loaded_features));
}

/* produce_async_positional(value, topic, key, partition, partition_key,
 * headers, create_time) -> nil */
static VALUE produce_async_positional(VALUE self, VALUE value, VALUE topic, VALUE key, VALUE partition,
                                      VALUE partition_key, VALUE headers, VALUE create_time) {
    VALUE native = rb_ivar_get(self, id_native);
    if (!NIL_P(native) && NIL_P(partition_key) && NIL_P(create_time) &&
        instrumenter_quiet(rb_ivar_get(self, id_silence))) {
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
    id_silence = rb_intern("@silence");
    id_reporter = rb_intern("@reporter");
    id_general = rb_intern("produce_async_general");
    id_ensure_reporter = rb_intern("ensure_reporter");
    loaded_features = rb_gv_get("$LOADED_FEATURES");
    rb_gc_register_mark_object(loaded_features);
    VALUE mHotPath = rb_define_module_under(mNative, "ProducerHotPath");
    rb_define_method(mHotPath, "produce_async_positional", produce_async_positional, 7);
}
