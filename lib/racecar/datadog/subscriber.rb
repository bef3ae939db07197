# frozen_string_literal: true

module Racecar
  module Datadog
    # Turns racecar's instrumentation events into DogStatsD metrics. It subscribes
    # only to the events it uses, so the runner still skips building payloads for
    # the rest. A failing metric never reaches the consumer: errors are counted and
    # logged once.
    class Subscriber
      include ConsumerMetrics
      include ProducerMetrics

      # event (without ".racecar") => handler method
      EVENTS = {
        "process_message" => :process_message,
        "process_batch" => :process_batch,
        "main_loop" => :main_loop,
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

      # Every metric this subscriber sends: Metrics::UPSTREAM plus racecar's own.
      METRICS = Metrics::ALL

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

      def subscribed?
        !@handles.empty?
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

      # --- helpers ----------------------------------------------------------

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
