# frozen_string_literal: true

module Racecar
  module Datadog
    # Every metric the subscriber sends (before the namespace): type, the events
    # it comes from, and what it means. The README table and the dashboard
    # follow these lists.
    module Metrics
      # Upstream Racecar 2.12's metrics, name for name, type for type: existing
      # Datadog dashboards and monitors keep working after the switch.
      UPSTREAM = {
        "consumer.messages" => ["count", "process_message, process_batch",
                                "messages processed (1 per #process, the batch size per #process_batch)"],
        "consumer.process_message.latency" => ["timing (ms)", "process_message", "time spent in #process"],
        "consumer.process_message.errors" => ["count", "process_message", "#process raised"],
        "consumer.process_batch.latency" => ["timing (ms)", "process_batch", "time spent in #process_batch"],
        "consumer.process_batch.errors" => ["count", "process_batch", "#process_batch raised"],
        "consumer.batch_size" => ["histogram", "process_batch", "messages per batch"],
        "consumer.offset" => ["gauge", "process_message, process_batch", "offset of the last message processed"],
        "consumer.time_lag" => ["gauge (ms)", "process_message, process_batch", "now minus the message's create time"],
        "consumer.join_group" => ["timing (ms)", "join_group", "time taken to join the group"],
        "consumer.join_group.errors" => ["count", "join_group", "joining the group failed"],
        "consumer.leave_group" => ["timing (ms)", "leave_group", "time taken to leave the group"],
        "consumer.leave_group.errors" => ["count", "leave_group", "leaving the group failed"],
        "consumer.poll.rdkafka_error.<code>" => ["count", "poll_error",
                                                 "librdkafka reported an error while polling, by its code " \
                                                 "(e.g. `transport`; an unknown one as `err_<number>`)"],
        "consumer.loop.duration" => ["histogram (ms)", "main_loop", "one loop iteration: poll and processing"],
        "consumer.pause.duration" => ["gauge (s)", "pause_status", "how long a partition has been paused"],
        "producer.produce.messages" => ["count", "produce_message, produce_sync, produce_async",
                                        "messages produced (also when the call raised)"],
        "producer.produce.errors" => ["count", "produce_message, produce_sync, produce_async", "a produce call raised"],
        "producer.produce.message_size" => ["histogram", "produce_message, produce_sync, produce_async",
                                            "bytes of the message's value"],
        "producer.produce.message_size.sum" => ["count", "produce_message, produce_sync, produce_async",
                                                "bytes of the values, summed"],
        "producer.buffer.size" => ["histogram", "produce_message, produce_async",
                                   "messages waiting for delivery when one more is produced"],
        "producer.deliver.latency" => ["timing (ms)", "deliver_messages", "time spent in deliver!"],
        "producer.deliver.messages" => ["count", "deliver_messages", "messages delivered by deliver!"],
        "producer.ack.messages" => ["count", "acknowledged_message", "messages the broker acknowledged"],
        "producer.produce.delivery.errors" => ["count", "produce_delivery_error", "messages the broker did not take"]
      }.freeze

      # racecar's own additions. None shares a name with an upstream metric or
      # with an aggregate Datadog derives from one (`.count`, `.avg`, ...).
      RACECAR = {
        "consumer.processed_messages" => ["count", "process_message, process_batch", "same as consumer.messages"],
        "consumer.processed_batches" => ["count", "process_batch", "batches processed without error"],
        "consumer.lag" => ["gauge", "statistics", "messages behind the high watermark (librdkafka)"],
        "consumer.join_group.latency" => ["timing (ms)", "join_group", "same as consumer.join_group"],
        "consumer.leave_group.latency" => ["timing (ms)", "leave_group", "same as consumer.leave_group"],
        "consumer.partitions_assigned" => ["count", "partitions_assigned", "partitions gained in a rebalance"],
        "consumer.partitions_revoked" => ["count", "partitions_revoked", "partitions lost in a rebalance"],
        "consumer.poll.errors" => ["count", "poll_error", "errors while polling (tag error:<class>)"],
        "producer.produced_messages" => ["count", "produce_message, produce_sync, produce_async",
                                         "messages produced (tag method)"],
        "producer.message_size" => ["histogram", "produce_message, produce_sync, produce_async", "key + value bytes"],
        "producer.produce_sync.latency" => ["timing (ms)", "produce_sync", "Racecar.produce_sync, delivery included"],
        "producer.produce_async.latency" => ["timing (ms)", "produce_async", "Racecar.produce_async (enqueueing)"],
        "producer.deliver_messages.latency" => ["timing (ms)", "deliver_messages", "same as producer.deliver.latency"],
        "producer.deliver_messages.errors" => ["count", "deliver_messages", "deliver! raised"],
        "producer.delivered_messages" => ["count", "deliver_messages", "same as producer.deliver.messages"],
        "producer.acknowledged_messages" => ["count", "acknowledged_message",
                                             "producer.ack.messages, tagged topic and partition"],
        "producer.delivery_errors" => ["count", "produce_delivery_error",
                                       "producer.produce.delivery.errors, tagged topic and partition"]
      }.freeze

      ALL = UPSTREAM.merge(RACECAR).freeze
    end
  end
end
