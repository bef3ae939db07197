# frozen_string_literal: true

module Racecar
  module Datadog
    # Turns racecar's instrumentation events into DogStatsD metrics. It subscribes
    # only to the events it uses, so the runner still skips building payloads for
    # the rest. A failing metric never reaches the consumer: errors are counted and
    # logged once.
    class Subscriber
      # event (without ".racecar") => handler method
      EVENTS = {
        "process_message" => :process_message,
        "process_batch" => :process_batch,
        "pause_status" => :pause_status,
        "join_group" => :join_group,
        "leave_group" => :leave_group,
        "partitions_assigned" => :partitions_assigned,
        "partitions_revoked" => :partitions_revoked,
        "poll_error" => :poll_error,
        "statistics" => :statistics,
        "produce_message" => :produce_message,
        "produce_async" => :produce_standalone,
        "produce_sync" => :produce_standalone,
        "deliver_messages" => :deliver_messages,
        "acknowledged_message" => :acknowledged_message,
        "produce_delivery_error" => :produce_delivery_error
      }.freeze

      # Every metric this subscriber sends (before the namespace): type, the event
      # it comes from, and what it means. The README and the dashboard follow it.
      METRICS = {
        "consumer.processed_messages" => ["count", "process_message, process_batch", "messages processed"],
        "consumer.processed_batches" => ["count", "process_batch", "batches processed without error"],
        "consumer.process_message.latency" => ["timing (ms)", "process_message", "time spent in #process"],
        "consumer.process_batch.latency" => ["timing (ms)", "process_batch", "time spent in #process_batch"],
        "consumer.process_message.errors" => ["count", "process_message", "#process raised"],
        "consumer.process_batch.errors" => ["count", "process_batch", "#process_batch raised"],
        "consumer.batch_size" => ["histogram", "process_batch", "messages per batch"],
        "consumer.offset" => ["gauge", "process_message, process_batch", "last processed offset"],
        "consumer.time_lag" => ["gauge (ms)", "process_message, process_batch", "now minus the message's create time"],
        "consumer.lag" => ["gauge", "statistics", "messages behind the high watermark (librdkafka)"],
        "consumer.pause.duration" => ["gauge (s)", "pause_status", "how long a partition has been paused"],
        "consumer.join_group" => ["count", "join_group", "the consumer joined its group"],
        "consumer.join_group.latency" => ["timing (ms)", "join_group", "time taken to join (when timed)"],
        "consumer.leave_group" => ["count", "leave_group", "the consumer left its group"],
        "consumer.leave_group.latency" => ["timing (ms)", "leave_group", "time taken to leave (when timed)"],
        "consumer.partitions_assigned" => ["count", "partitions_assigned", "partitions gained in a rebalance"],
        "consumer.partitions_revoked" => ["count", "partitions_revoked", "partitions lost in a rebalance"],
        "consumer.poll.errors" => ["count", "poll_error", "errors while polling (tag error:<class>)"],
        "producer.produced_messages" => ["count", "produce_message, produce_sync, produce_async", "messages produced"],
        "producer.message_size" => ["histogram", "produce_message, produce_sync, produce_async", "key + value bytes"],
        "producer.buffer.size" => ["gauge", "produce_message", "messages buffered until deliver!"],
        "producer.produce_sync.latency" => ["timing (ms)", "produce_sync", "Racecar.produce_sync, delivery included"],
        "producer.produce_async.latency" => ["timing (ms)", "produce_async", "Racecar.produce_async (enqueueing)"],
        "producer.produce.errors" => ["count", "produce_message, produce_sync, produce_async", "a produce call raised"],
        "producer.deliver_messages.latency" => ["timing (ms)", "deliver_messages", "time spent in deliver!"],
        "producer.deliver_messages.errors" => ["count", "deliver_messages", "deliver! raised"],
        "producer.delivered_messages" => ["count", "deliver_messages", "messages delivered by deliver!"],
        "producer.acknowledged_messages" => ["count", "acknowledged_message", "messages the broker acknowledged"],
        "producer.delivery_errors" => ["count", "produce_delivery_error", "messages the broker did not take"]
      }.freeze

      attr_reader :client, :handler_errors

      def initialize(client:, instrumenter:, logger: nil)
        @client = client
        @instrumenter = instrumenter
        @logger = logger
        @handles = []
        @handler_errors = 0
        # Tag Arrays are reused per (client, group, topic, partition): one event per
        # message would otherwise allocate a fresh Array and Strings each time.
        @consumer_tags = {}
        @producer_tags = {}
      end

      def subscribe
        return self unless @handles.empty?

        EVENTS.each do |event, handler|
          @handles << @instrumenter.subscribe(event) do |_name, payload, duration|
            dispatch(handler, event, payload, duration)
          end
        end
        self
      end

      def unsubscribe
        @handles.each { |handle| @instrumenter.unsubscribe(handle) }
        @handles.clear
        self
      end

      # Unsubscribes and closes the socket.
      def close
        unsubscribe
        @client.close
      end

      private

      def dispatch(handler, event, payload, duration)
        @client.batch { send(handler, event, payload, duration) }
      rescue StandardError => e
        @handler_errors += 1
        return unless @handler_errors == 1

        @logger&.warn("racecar datadog: dropping metrics for #{event}: #{e.class}: #{e.message}")
      end

      # --- consumer ---------------------------------------------------------

      def process_message(_event, payload, duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        if payload[:exception]
          @client.increment("consumer.process_message.errors", tags: tags)
          return
        end
        @client.timing("consumer.process_message.latency", milliseconds(duration), tags: tags)
        @client.increment("consumer.processed_messages", tags: tags)
        gauge_offset_and_lag(payload[:offset], payload[:create_time], tags)
      end

      def process_batch(_event, payload, duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        if payload[:exception]
          @client.increment("consumer.process_batch.errors", tags: tags)
          return
        end
        count = payload[:message_count].to_i
        @client.timing("consumer.process_batch.latency", milliseconds(duration), tags: tags)
        @client.histogram("consumer.batch_size", count, tags: tags)
        @client.increment("consumer.processed_batches", tags: tags)
        @client.count("consumer.processed_messages", count, tags: tags)
        gauge_offset_and_lag(payload[:last_offset], payload[:last_create_time], tags)
      end

      def pause_status(_event, payload, _duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        @client.gauge("consumer.pause.duration", payload[:duration].to_f, tags: tags)
      end

      def join_group(_event, payload, duration)
        tags = consumer_tags(payload)
        @client.increment("consumer.join_group", tags: tags)
        @client.timing("consumer.join_group.latency", milliseconds(duration), tags: tags) if duration.positive?
      end

      def leave_group(_event, payload, duration)
        tags = consumer_tags(payload)
        @client.increment("consumer.leave_group", tags: tags)
        @client.timing("consumer.leave_group.latency", milliseconds(duration), tags: tags) if duration.positive?
      end

      def partitions_assigned(_event, payload, _duration)
        count_partitions("consumer.partitions_assigned", payload)
      end

      def partitions_revoked(_event, payload, _duration)
        count_partitions("consumer.partitions_revoked", payload)
      end

      def poll_error(_event, payload, _duration)
        tags = consumer_tags(payload)
        exception = payload[:exception]
        exception_class = exception.is_a?(Exception) ? exception.class.name : Array(exception).first
        tags += ["error:#{exception_class}"] if exception_class
        @client.increment("consumer.poll.errors", tags: tags)
      end

      # librdkafka's own view of the lag: messages between the committed offset
      # and the partition's high watermark (-1 while unknown).
      def statistics(_event, payload, _duration)
        stats = payload[:statistics]
        return unless stats.is_a?(Hash) && stats["topics"].is_a?(Hash)

        stats["topics"].each do |topic, topic_stats|
          (topic_stats["partitions"] || {}).each do |partition, partition_stats|
            lag = partition_stats["consumer_lag"]
            next if partition == "-1" || !lag.is_a?(Integer) || lag.negative?

            @client.gauge("consumer.lag", lag, tags: consumer_tags(payload, topic, partition.to_i))
          end
        end
      end

      # --- producer ---------------------------------------------------------

      # Racecar::Consumer#produce buffering a message for deliver!.
      def produce_message(_event, payload, _duration)
        tags = producer_tags(payload, "produce")
        if payload[:exception]
          @client.increment("producer.produce.errors", tags: tags)
          return
        end
        count_produced(payload, tags)
        @client.gauge("producer.buffer.size", payload[:buffer_size].to_i, tags: tags) if payload.key?(:buffer_size)
      end

      # Racecar.produce_sync / produce_async.
      def produce_standalone(event, payload, duration)
        tags = producer_tags(payload, event)
        if payload[:exception]
          @client.increment("producer.produce.errors", tags: tags)
          return
        end
        count_produced(payload, tags)
        @client.timing("producer.#{event}.latency", milliseconds(duration), tags: tags)
      end

      def deliver_messages(_event, payload, duration)
        tags = producer_tags(payload, nil)
        if payload[:exception]
          @client.increment("producer.deliver_messages.errors", tags: tags)
          return
        end
        @client.timing("producer.deliver_messages.latency", milliseconds(duration), tags: tags)
        @client.count("producer.delivered_messages", payload[:delivered_message_count].to_i, tags: tags)
      end

      def acknowledged_message(_event, payload, _duration)
        @client.increment("producer.acknowledged_messages", tags: producer_tags(payload, nil, payload[:partition]))
      end

      def produce_delivery_error(_event, payload, _duration)
        @client.increment("producer.delivery_errors", tags: producer_tags(payload, nil, payload[:partition]))
      end

      # --- helpers ----------------------------------------------------------

      def count_produced(payload, tags)
        @client.increment("producer.produced_messages", tags: tags)
        size = payload[:value].to_s.bytesize + payload[:key].to_s.bytesize
        @client.histogram("producer.message_size", size, tags: tags)
      end

      def count_partitions(metric, payload)
        topic_partitions = payload[:topic_partitions] || {}
        topic_partitions.each do |topic, partitions|
          @client.count(metric, Array(partitions).size, tags: consumer_tags(payload, topic))
        end
      end

      def gauge_offset_and_lag(offset, create_time, tags)
        @client.gauge("consumer.offset", offset, tags: tags) unless offset.nil?
        lag = time_lag_ms(create_time)
        @client.gauge("consumer.time_lag", lag, tags: tags) unless lag.nil?
      end

      def time_lag_ms(create_time)
        created_ms =
          case create_time
          when Time then (create_time.to_r * 1000).to_i
          when Integer then create_time # librdkafka timestamps: ms since the epoch
          end
        return nil if created_ms.nil?

        [Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond) - created_ms, 0].max
      end

      def consumer_tags(payload, topic = nil, partition = nil)
        cached_tags(@consumer_tags, payload[:client_id], payload[:group_id], topic, partition) do
          tag_list("client" => payload[:client_id], "group_id" => payload[:group_id],
                   "topic" => topic, "partition" => partition)
        end
      end

      def producer_tags(payload, method, partition = nil)
        cached_tags(@producer_tags, payload[:client_id], method, payload[:topic], partition) do
          tag_list("client" => payload[:client_id], "topic" => payload[:topic],
                   "partition" => partition, "method" => method)
        end
      end

      # Nested Hashes rather than an Array key, so a cache hit allocates nothing.
      def cached_tags(cache, first, second, third, fourth)
        level = ((cache[first] ||= {})[second] ||= {})[third] ||= {}
        level[fourth] ||= yield
      end

      def tag_list(pairs)
        pairs.filter_map { |name, value| "#{name}:#{value}" unless value.nil? }.freeze
      end

      def milliseconds(seconds)
        (seconds.to_f * 1000).round(3)
      end
    end
  end
end
