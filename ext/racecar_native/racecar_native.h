/* Declarations shared by the binding files of racecar's native core.
 * Engine files (events.c, pause.c, offsets.c, partition_table.c) do not include
 * this header: they are plain C over librdkafka and never touch Ruby. */
#ifndef RACECAR_NATIVE_H
#define RACECAR_NATIVE_H

#include <ruby.h>
#include <ruby/encoding.h>
#include <ruby/thread.h>
#include <ruby/util.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>

#ifndef HAVE_RB_GC_MARK_MOVABLE
#define rb_gc_mark_movable rb_gc_mark
#endif

extern VALUE rcn_mRacecar;
extern VALUE rcn_mNative;
extern VALUE rcn_eError;
extern VALUE rcn_eConfigError;
extern VALUE rcn_eKafkaError;
extern VALUE rcn_eDeliveryError;

/* errors.c: every raise of a librdkafka failure goes through here. */
VALUE rcn_err_code_sym(rd_kafka_resp_err_t err);
VALUE rcn_kafka_error_new(VALUE klass, rd_kafka_resp_err_t err, int fatal, const char *message);
NORETURN(void rcn_raise_kafka(VALUE klass, rd_kafka_resp_err_t err, const char *context));
NORETURN(void rcn_raise_error_object(rd_kafka_error_t *error, const char *context));

/* numeric.c: NaN raises ArgumentError naming the argument; infinite and
 * huge values are clamped (durations to about 100 years, timeouts for
 * librdkafka to 0..INT_MAX); a count must be 1..INT_MAX. */
int64_t rcn_seconds_to_ms(VALUE seconds, const char *name);
/* The monotonic time (ms) seconds from now; negative seconds mean now. */
int64_t rcn_deadline_after(VALUE seconds, const char *name);
int rcn_seconds_to_timeout_ms(VALUE seconds, const char *name);
size_t rcn_count_arg(VALUE count, const char *name);

/* conf.c */
rd_kafka_conf_t *rcn_conf_from_hash(VALUE properties);

/* message.c (its blocks: message_block.h). Both take the librdkafka message
 * over and set *rkmp to NULL once they have. */
VALUE rcn_message_new(rd_kafka_message_t **rkmp, int retries_count);
VALUE rcn_message_new_in(VALUE block, rd_kafka_message_t **rkmp, int retries_count);
VALUE rcn_topic_string(const char *topic);
void rcn_message_init(VALUE mRacecar);

/* event_convert.c: turns the engine's event list into Ruby Arrays. */
struct rcn_event;
VALUE rcn_events_to_ruby(struct rcn_event *list);
VALUE rcn_partition_list_to_hash(const rd_kafka_topic_partition_list_t *list);

/* blocking.c: runs a blocking librdkafka call without the GVL. fn must store
 * its results where the handle owns them: an interrupt may raise before fn
 * runs or once it returned, never losing them. Returns 1 when fn ran (0 only
 * if it did not and nothing raised); the caller then calls
 * rb_thread_check_ints() wherever a wait may go on. ubf must wake fn
 * (rd_kafka_queue_yield, a condition variable), or fn must be short. */
int rcn_without_gvl(void *(*fn)(void *), void *arg, void (*ubf)(void *), void *ubf_arg);

void rcn_consumer_init(VALUE mNative);
void rcn_runner_init(VALUE cConsumer);
void rcn_producer_init(VALUE mNative);
void rcn_producer_hot_path_init(VALUE mNative);

/* producer.c -> producer_hot_path.c: one produce_async message, enqueued
 * for the tracker of the calling fiber's wait_for_delivery block if one
 * runs. DECLINED: the handle is closed or belongs to the parent of this
 * forked process, or librdkafka refused the message; nothing was enqueued
 * and the caller takes the Ruby path, which words any error. Raises
 * Racecar::Error when converting the message (to_s) closed the handle. */
typedef enum { RCN_PRODUCE_TRACKED, RCN_PRODUCE_UNTRACKED, RCN_PRODUCE_DECLINED } rcn_produce_outcome;
rcn_produce_outcome rcn_producer_produce_async(VALUE native, VALUE topic, VALUE value, VALUE key, VALUE partition,
                                               VALUE headers);
void rcn_admin_init(VALUE mNative);
void rcn_mock_cluster_init(VALUE mNative);

/* consumer.c -> runner.c */
struct rcn_consumer;
struct rcn_consumer *rcn_consumer_get(VALUE self);

#endif
