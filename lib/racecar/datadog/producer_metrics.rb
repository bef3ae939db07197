# frozen_string_literal: true

module Racecar
  module Datadog
    # The producer events' metrics (mixed into Subscriber). Upstream's metrics
    # are tagged client and topic (client alone for deliveries and
    # acknowledgements); racecar's own also say which method produced
    # (`method:produce` for Consumer#produce) or which partition.
    module ProducerMetrics
      private

      # Racecar::Consumer#produce buffering a message for deliver!.
      def produce_message(_event, payload, _duration)
        count_produced(payload, "produce", buffered: true)
      end

      # Racecar.produce_sync / produce_async.
      def produce_standalone(event, payload, duration)
        count_produced(payload, event, buffered: event == "produce_async")
        return if payload[:exception]

        @client.timing("producer.#{event}.latency", milliseconds(duration), tags: method_tags(payload, event))
      end

      # Upstream times every deliver! and counts what it delivered, also when
      # some message failed (the others were delivered all the same).
      def deliver_messages(_event, payload, duration)
        tags = client_tags(payload)
        milliseconds = milliseconds(duration)
        delivered = payload[:delivered_message_count].to_i
        @client.timing("producer.deliver.latency", milliseconds, tags: tags)
        @client.count("producer.deliver.messages", delivered, tags: tags)
        if payload[:exception]
          @client.increment("producer.deliver_messages.errors", tags: tags)
          return
        end
        @client.timing("producer.deliver_messages.latency", milliseconds, tags: tags)
        @client.count("producer.delivered_messages", delivered, tags: tags)
      end

      def acknowledged_message(_event, payload, _duration)
        @client.increment("producer.ack.messages", tags: client_tags(payload))
        @client.increment("producer.acknowledged_messages", tags: partition_tags(payload))
      end

      def produce_delivery_error(_event, payload, _duration)
        @client.increment("producer.produce.delivery.errors", tags: client_tags(payload))
        @client.increment("producer.delivery_errors", tags: partition_tags(payload))
      end

      # Upstream counts the message and its size whether or not producing it
      # raised; a raise also counts as a produce error. racecar's own counters
      # count only what was produced.
      def count_produced(payload, method, buffered:)
        tags = topic_tags(payload)
        size = payload.key?(:message_size) ? payload[:message_size].to_i : payload[:value].to_s.bytesize
        @client.increment("producer.produce.errors", tags: tags) if payload[:exception]
        @client.increment("producer.produce.messages", tags: tags)
        @client.histogram("producer.produce.message_size", size, tags: tags)
        @client.count("producer.produce.message_size.sum", size, tags: tags)
        if buffered && payload.key?(:buffer_size)
          @client.histogram("producer.buffer.size", payload[:buffer_size].to_i, tags: tags)
        end
        return if payload[:exception]

        extra_tags = method_tags(payload, method)
        @client.increment("producer.produced_messages", tags: extra_tags)
        @client.histogram("producer.message_size", payload[:value].to_s.bytesize + payload[:key].to_s.bytesize,
                          tags: extra_tags)
      end

      def client_tags(payload)
        producer_tags(payload[:client_id], nil, nil, nil)
      end

      def topic_tags(payload)
        producer_tags(payload[:client_id], payload[:topic], nil, nil)
      end

      def method_tags(payload, method)
        producer_tags(payload[:client_id], payload[:topic], nil, method)
      end

      def partition_tags(payload)
        producer_tags(payload[:client_id], payload[:topic], payload[:partition], nil)
      end

      def producer_tags(client, topic, partition, method)
        cached_tags(@producer_tags, client, topic, partition, method) do
          tag_list("client" => client, "topic" => topic, "partition" => partition, "method" => method)
        end
      end
    end
  end
end
