/* Racecar::Native::AsyncProduceLane: the per-message path of
 * Racecar.produce_async, one per Racecar::Producer (its owner). As a Ruby
 * method it cost about as much as librdkafka's own enqueue; here the common
 * message (nobody listening, no partition_key or create_time, a handle
 * already built) goes to librdkafka after a few field reads. The lane reads
 * nothing of its owner: the owner gives it the native handle and its
 * reporter thread as they change, and at birth the instrumenter's quiet
 * marker and $LOADED_FEATURES, whose size the marker is compared with. Every
 * other message goes to the owner's produce_async_in_ruby, which does all of
 * it. */
#include "racecar_native.h"

typedef struct {
    VALUE owner;           /* the Racecar::Producer */
    VALUE native;          /* its Native::Producer, or nil */
    VALUE reporter;        /* its reporter thread, or nil while none runs */
    VALUE quiet_marker;    /* Instrumenter#quiet_marker */
    VALUE loaded_features; /* $LOADED_FEATURES */
} async_lane;

static ID id_in_ruby, id_ensure_reporter;

static void lane_mark(void *ptr) {
    async_lane *lane = ptr;
    rb_gc_mark_movable(lane->owner);
    rb_gc_mark_movable(lane->native);
    rb_gc_mark_movable(lane->reporter);
    rb_gc_mark_movable(lane->quiet_marker);
    rb_gc_mark_movable(lane->loaded_features);
}

static void lane_compact(void *ptr) {
    async_lane *lane = ptr;
    lane->owner = rb_gc_location(lane->owner);
    lane->native = rb_gc_location(lane->native);
    lane->reporter = rb_gc_location(lane->reporter);
    lane->quiet_marker = rb_gc_location(lane->quiet_marker);
    lane->loaded_features = rb_gc_location(lane->loaded_features);
}

static size_t lane_size(const void *ptr) { return sizeof(async_lane); }

static const rb_data_type_t lane_type = {
    "Racecar::Native::AsyncProduceLane",
    {lane_mark, RUBY_TYPED_DEFAULT_FREE, lane_size, lane_compact},
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY
};

static VALUE lane_alloc(VALUE klass) {
    async_lane *lane;
    VALUE obj = TypedData_Make_Struct(klass, async_lane, &lane_type, lane);
    lane->owner = lane->native = lane->reporter = lane->quiet_marker = lane->loaded_features = Qnil;
    return obj;
}

static async_lane *lane_get(VALUE self) {
    async_lane *lane = rb_check_typeddata(self, &lane_type);
    if (NIL_P(lane->owner)) rb_raise(rcn_eError, "the async lane has no owner (initialize was not called)");
    return lane;
}

/* AsyncProduceLane.new(owner, quiet_marker, loaded_features) */
static VALUE lane_initialize(VALUE self, VALUE owner, VALUE quiet_marker, VALUE loaded_features) {
    async_lane *lane = rb_check_typeddata(self, &lane_type);
    Check_Type(quiet_marker, T_ARRAY);
    Check_Type(loaded_features, T_ARRAY);
    RB_OBJ_WRITE(self, &lane->owner, owner);
    RB_OBJ_WRITE(self, &lane->quiet_marker, quiet_marker);
    RB_OBJ_WRITE(self, &lane->loaded_features, loaded_features);
    return self;
}

static VALUE lane_set_native(VALUE self, VALUE native) {
    RB_OBJ_WRITE(self, &lane_get(self)->native, native);
    return native;
}

static VALUE lane_set_reporter(VALUE self, VALUE reporter) {
    RB_OBJ_WRITE(self, &lane_get(self)->reporter, reporter);
    return reporter;
}

/* Nobody listens to any event while the marker holds the size
 * $LOADED_FEATURES has (ActiveSupport can only arrive through require). */
static int nobody_listens(const async_lane *lane) {
    return RARRAY_LEN(lane->quiet_marker) >= 1 &&
           RARRAY_AREF(lane->quiet_marker, 0) == LONG2FIX(RARRAY_LEN(lane->loaded_features));
}

/* produce(value, topic, key, partition, partition_key, headers, create_time) -> nil */
static VALUE lane_produce(VALUE self, VALUE value, VALUE topic, VALUE key, VALUE partition, VALUE partition_key,
                          VALUE headers, VALUE create_time) {
    async_lane *lane = lane_get(self);
    if (!NIL_P(lane->native) && NIL_P(partition_key) && NIL_P(create_time) && nobody_listens(lane)) {
        switch (rcn_producer_produce_async(lane->native, topic, value, key, partition, headers)) {
        case RCN_PRODUCE_TRACKED:
            return Qnil;
        case RCN_PRODUCE_UNTRACKED:
            /* Counted before the reporter is looked at, as the reporter expects. */
            if (NIL_P(lane->reporter)) rb_funcall(lane->owner, id_ensure_reporter, 0);
            return Qnil;
        case RCN_PRODUCE_DECLINED:
            break;
        }
    }
    VALUE args[7] = {value, topic, key, partition, partition_key, headers, create_time};
    return rb_funcallv(lane->owner, id_in_ruby, 7, args);
}

void rcn_producer_hot_path_init(VALUE mNative) {
    id_in_ruby = rb_intern("produce_async_in_ruby");
    id_ensure_reporter = rb_intern("ensure_reporter");
    VALUE cLane = rb_define_class_under(mNative, "AsyncProduceLane", rb_cObject);
    rb_define_alloc_func(cLane, lane_alloc);
    rb_define_method(cLane, "initialize", lane_initialize, 3);
    rb_define_method(cLane, "native=", lane_set_native, 1);
    rb_define_method(cLane, "reporter=", lane_set_reporter, 1);
    rb_define_method(cLane, "produce", lane_produce, 7);
}
