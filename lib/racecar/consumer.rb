# frozen_string_literal: true

module Racecar
  # Base class of every consumer. Subclasses declare what they read with the
  # class-level DSL and implement process(message) or process_batch(messages).
  class Consumer
    Subscription = Struct.new(:topic, :start_from_beginning, :max_bytes_per_partition, :additional_config)

    class << self
      attr_accessor :max_wait_time, :group_id, :fetch_messages, :parallel_workers

      # Upstream still declares these (from racecar 1); nothing reads them.
      attr_accessor :producer, :consumer

      def subscriptions
        @subscriptions ||= []
      end

      # Subscribes to one or more topics; may be called several times. All
      # topics are served by one group member (one librdkafka consumer).
      def subscribes_to(*topics, start_from_beginning: true, max_bytes_per_partition: 1_048_576, additional_config: {})
        raise ArgumentError, "subscribes_to needs at least one topic" if topics.empty?

        topics.flatten.each do |topic|
          check_topic_name!(topic.to_s)
          subscriptions << Subscription.new(topic.to_s, start_from_beginning, max_bytes_per_partition,
                                            additional_config.to_h.freeze)
        end
      end

      # With a block: registers a hook. Without: runs the hooks (the runner
      # calls it with a Racecar::RebalanceEvent). A subclass may also simply
      # define `def self.on_partitions_assigned(event)`.
      def on_partitions_assigned(event = nil, &hook)
        return assigned_hooks << hook if hook

        assigned_hooks.each { |h| h.call(event) }
        nil
      end

      def on_partitions_revoked(event = nil, &hook)
        return revoked_hooks << hook if hook

        revoked_hooks.each { |h| h.call(event) }
        nil
      end

      private

      # Kafka's rule for topic names. librdkafka 2.0.2 never joins the group
      # when asked for an illegal one (and starves the other topics), so it is
      # refused here. A leading "^" subscribes to a regular expression instead.
      LEGAL_TOPIC = /\A[a-zA-Z0-9._-]{1,249}\z/.freeze

      def check_topic_name!(topic)
        return if topic.start_with?("^") || (LEGAL_TOPIC.match?(topic) && !%w[. ..].include?(topic))

        raise ConfigError, "#{name || 'This consumer'} subscribes to #{topic.inspect}, which is not a valid Kafka " \
                           "topic name: use letters, digits, '.', '_' and '-' (at most 249 characters)"
      end

      def assigned_hooks
        @assigned_hooks ||= []
      end

      def revoked_hooks
        @revoked_hooks ||= []
      end
    end

    # Called by the runner before the first message. Not part of the user API.
    def __racecar_attach(producer:, instrumenter:)
      @__racecar_producer = producer
      @__racecar_instrumenter = instrumenter
      @__racecar_tracker = nil
    end

    # Enqueues a message; it is only guaranteed delivered after deliver!
    # (which the runner calls after each process / process_batch).
    def produce(value, topic:, key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil)
      producer = @__racecar_producer || Racecar.producer
      @__racecar_tracker ||= producer.new_tracker
      producer.produce(value: value, topic: topic, key: key, partition: partition, partition_key: partition_key,
                       headers: headers, create_time: create_time, tracker: @__racecar_tracker)
      nil
    end

    # Blocks until every message produced since the last call is acknowledged;
    # raises Racecar::MessageDeliveryError if any failed.
    def deliver!
      tracker = @__racecar_tracker
      return if tracker.nil?

      @__racecar_tracker = nil
      (@__racecar_producer || Racecar.producer).wait_for(tracker)
    end

    # True while produced messages wait for deliver!.
    def pending_deliveries?
      !@__racecar_tracker.nil?
    end

    def teardown; end

    protected

    # Upstream keeps this for consumers written for ruby-kafka; librdkafka
    # sends heartbeats from its own thread.
    def heartbeat
      warn("DEPRECATION WARNING: Manual heartbeats are not supported and not needed with librdkafka.")
    end
  end
end
