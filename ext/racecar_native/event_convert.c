/* Converts the engine's events into plain Ruby Arrays for the Ruby side:
 *   [:log, level, facility, text]      [:error, code, text, fatal]
 *   [:statistics, json]                [:assigned, {topic => [partitions]}]
 *   [:revoked, {topic => [...]}, lost] [:delivery_error, topic, partition, code, text]
 *   [:ack, topic, partition, offset] */
#include "racecar_native.h"
#include "events.h"

VALUE rcn_partition_list_to_hash(const rd_kafka_topic_partition_list_t *list) {
    VALUE hash = rb_hash_new();
    if (!list) return hash;
    for (int i = 0; i < list->cnt; i++) {
        VALUE topic = rcn_topic_string(list->elems[i].topic);
        VALUE parts = rb_hash_aref(hash, topic);
        if (NIL_P(parts)) {
            parts = rb_ary_new();
            rb_hash_aset(hash, topic, parts);
        }
        rb_ary_push(parts, INT2NUM(list->elems[i].partition));
    }
    return hash;
}

static VALUE str_or_nil(const char *s) {
    return s ? rb_utf8_str_new_cstr(s) : Qnil;
}

static VALUE event_to_ruby(const rcn_event *ev) {
    switch (ev->type) {
    case RCN_EV_LOG:
        return rb_ary_new_from_args(4, ID2SYM(rb_intern("log")), INT2NUM(ev->level), str_or_nil(ev->name), str_or_nil(ev->text));
    case RCN_EV_ERROR:
        return rb_ary_new_from_args(4, ID2SYM(rb_intern("error")), rcn_err_code_sym(ev->err), str_or_nil(ev->text), ev->fatal ? Qtrue : Qfalse);
    case RCN_EV_STATS:
        return rb_ary_new_from_args(2, ID2SYM(rb_intern("statistics")), str_or_nil(ev->text));
    case RCN_EV_ASSIGNED:
        return rb_ary_new_from_args(2, ID2SYM(rb_intern("assigned")), rcn_partition_list_to_hash(ev->partitions));
    case RCN_EV_REVOKED:
        return rb_ary_new_from_args(3, ID2SYM(rb_intern("revoked")), rcn_partition_list_to_hash(ev->partitions), ev->lost ? Qtrue : Qfalse);
    case RCN_EV_DELIVERY_ERROR:
        return rb_ary_new_from_args(5, ID2SYM(rb_intern("delivery_error")), str_or_nil(ev->name), INT2NUM(ev->partition), rcn_err_code_sym(ev->err), str_or_nil(ev->text));
    case RCN_EV_ACK:
        return rb_ary_new_from_args(4, ID2SYM(rb_intern("ack")), str_or_nil(ev->name), INT2NUM(ev->partition), LL2NUM(ev->offset));
    }
    return Qnil;
}

typedef struct {
    rcn_event *list;
    VALUE result;
} convert_args;

static VALUE convert_body(VALUE data) {
    convert_args *args = (convert_args *)data;
    for (rcn_event *ev = args->list; ev; ev = ev->next) rb_ary_push(args->result, event_to_ruby(ev));
    return args->result;
}

static VALUE convert_free(VALUE data) {
    rcn_events_free(((convert_args *)data)->list);
    return Qnil;
}

/* Takes ownership of list: it is freed even when allocation raises. */
VALUE rcn_events_to_ruby(rcn_event *list) {
    convert_args args = {list, rb_ary_new()};
    return rb_ensure(convert_body, (VALUE)&args, convert_free, (VALUE)&args);
}
