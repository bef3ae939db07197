# frozen_string_literal: true

module Racecar
  module Datadog
    # The consumer events' metrics (mixed into Subscriber). Names, types and
    # tags follow upstream Racecar (Metrics::UPSTREAM); Metrics::RACECAR are
    # sent alongside.
    module ConsumerMetrics
      private

      # Offset and time lag are gauged even when #process raised, as upstream
      # does: they say how far the consumer got, not how well.
      def process_message(_event, payload, duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        if payload[:exception]
          @client.increment("consumer.process_message.errors", tags: tags)
        else
          @client.timing("consumer.process_message.latency", milliseconds(duration), tags: tags)
          @client.increment("consumer.messages", tags: tags)
          @client.increment("consumer.processed_messages", tags: tags)
        end
        gauge_offset_and_lag(payload[:offset], payload[:create_time], tags)
      end

      def process_batch(_event, payload, duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        count = Integer(payload[:message_count] || 0)
        if payload[:exception]
          @client.increment("consumer.process_batch.errors", tags: tags)
        else
          @client.timing("consumer.process_batch.latency", milliseconds(duration), tags: tags)
          @client.count("consumer.messages", count, tags: tags)
          @client.count("consumer.processed_messages", count, tags: tags)
          @client.increment("consumer.processed_batches", tags: tags)
        end
        @client.histogram("consumer.batch_size", count, tags: tags)
        gauge_offset_and_lag(payload[:last_offset], payload[:last_create_time], tags)
      end

      # One per loop iteration; the event times polling and processing.
      def main_loop(_event, payload, duration)
        @client.histogram("consumer.loop.duration", milliseconds(duration), tags: consumer_tags(payload))
      end

      def pause_status(_event, payload, _duration)
        tags = consumer_tags(payload, payload[:topic], payload[:partition])
        @client.gauge("consumer.pause.duration", payload[:duration].to_f, tags: tags)
      end

      # A timing even when joining failed (the time until it failed), as upstream.
      def join_group(_event, payload, duration)
        group_timing("consumer.join_group", payload, duration)
      end

      def leave_group(_event, payload, duration)
        group_timing("consumer.leave_group", payload, duration)
      end

      def partitions_assigned(_event, payload, _duration)
        count_partitions("consumer.partitions_assigned", payload)
      end

      def partitions_revoked(_event, payload, _duration)
        count_partitions("consumer.partitions_revoked", payload)
      end

      # Upstream names the metric after rdkafka-ruby's error code, which is
      # librdkafka's error name in lower case without the leading "_"; the C
      # extension gives KafkaError#code the same Symbol (:transport,
      # :msg_size_too_large). librdkafka names a code it does not know
      # "ERR_<n>?", hence the scrubbing of non-word characters.
      def poll_error(_event, payload, _duration)
        tags = consumer_tags(payload)
        exception = payload[:exception]
        code = exception.respond_to?(:code) ? exception.code : nil
        code = "err_#{code}" if code.is_a?(Integer)
        code = code.to_s.gsub(/\W/, "")
        @client.increment("consumer.poll.rdkafka_error.#{code}", tags: tags) unless code.empty?

        exception_class = exception.is_a?(Exception) ? exception.class.name : Array(exception).first
        @client.increment("consumer.poll.errors", tags: exception_class ? tags + ["error:#{exception_class}"] : tags)
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

      def group_timing(metric, payload, duration)
        tags = consumer_tags(payload)
        milliseconds = milliseconds(duration)
        @client.timing(metric, milliseconds, tags: tags)
        @client.timing("#{metric}.latency", milliseconds, tags: tags)
        @client.increment("#{metric}.errors", tags: tags) if payload[:exception]
      end

      # Per topic from racecar's topic_partitions ({ "topic" => [partitions] });
      # a payload with only upstream's `partitions` is counted per topic when
      # it is such a Hash, without a topic tag when it lists partition numbers.
      def count_partitions(metric, payload)
        topic_partitions = payload[:topic_partitions] || payload[:partitions]
        if topic_partitions.is_a?(Hash)
          topic_partitions.each do |topic, partitions|
            @client.count(metric, Array(partitions).size, tags: consumer_tags(payload, topic))
          end
        elsif payload[:partitions].is_a?(Array)
          @client.count(metric, payload[:partitions].size, tags: consumer_tags(payload))
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
    end
  end
end
