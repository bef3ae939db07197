# frozen_string_literal: true

module Racecar
  # The process-wide producer behind Racecar.produce_sync / produce_async /
  # wait_for_delivery and Consumer#produce. One librdkafka handle per process,
  # built lazily, rebuilt in a forked child, closed at exit.
  class Producer
    WAIT_MARGIN = 5 # seconds beyond message_timeout before a wait gives up

    def initialize(config:, logger:, instrumenter:)
      @config = config
      @logger = logger
      @instrumenter = instrumenter
      @lock = Mutex.new
      @native = nil
      @pid = nil
      @partition_counts = {}
    end

    def new_tracker
      Native::DeliveryTracker.new
    end

    def produce(value:, topic:, key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil,
                tracker: nil)
      native = handle
      topic = topic.to_s
      partition = partition_for(native, topic, partition_key.to_s) if partition.nil? && !partition_key.nil?
      native.produce(topic, value&.to_s, key&.to_s, partition, headers, timestamp_ms(create_time), tracker)
      if @instrumenter.listening?(:produce_message)
        @instrumenter.instrument(:produce_message,
                                 topic: topic, partition: partition, key: key, value: value, headers: headers,
                                 create_time: create_time, buffer_size: native.queue_length)
      end
      report_events(native)
      nil
    end

    def produce_sync(**message)
      payload = @instrumenter.listening?(:produce_sync) ? message.slice(:topic, :partition, :key, :value, :headers, :create_time) : nil
      @instrumenter.instrument(:produce_sync, payload) do
        tracker = new_tracker
        produce(**message, tracker: tracker)
        wait_for(tracker)
      end
      nil
    end

    def produce_async(**message)
      payload = @instrumenter.listening?(:produce_async) ? message.slice(:topic, :partition, :key, :value, :headers, :create_time) : nil
      @instrumenter.instrument(:produce_async, payload) do
        produce(**message, tracker: Thread.current[:racecar_delivery_tracker])
      end
      nil
    end

    # Waits for everything produce_async'ed inside the block (on this thread).
    def wait_for_delivery
      outer = Thread.current[:racecar_delivery_tracker]
      tracker = new_tracker
      Thread.current[:racecar_delivery_tracker] = tracker
      begin
        yield
      ensure
        Thread.current[:racecar_delivery_tracker] = outer
      end
      wait_for(tracker)
    end

    # Blocks (GVL released, interruptible) until the tracker's messages are
    # acknowledged; raises MessageDeliveryError for failures or a stuck broker.
    def wait_for(tracker)
      count = tracker.pending
      finished = @instrumenter.instrument(:deliver_messages, @instrumenter.listening?(:deliver_messages) ? { delivered_message_count: count } : nil) do
        tracker.wait(@config.message_timeout + WAIT_MARGIN)
      end
      report_events(@native) if @native
      failures = tracker.take_failures
      unless failures.empty?
        error = DeliveryFailure.error_for(failures)
        instrument_failure(error)
        raise error
      end
      return if finished

      raise MessageDeliveryError.new("Messages were not acknowledged within #{@config.message_timeout + WAIT_MARGIN}s",
                                     code: :msg_timed_out)
    end

    def close(timeout = nil)
      @lock.synchronize do
        return unless @native && @pid == Process.pid

        native = @native
        @native = nil
        native.close(timeout || @config.message_timeout)
        report_events(native)
      end
    end

    private

    def handle
      native = @native
      return native if native && @pid == Process.pid

      @lock.synchronize do
        if @native && @pid != Process.pid
          # Forked child: the parent's librdkafka threads do not exist here.
          @native.abandon!
          @native = nil
        end
        @native ||= begin
          @pid = Process.pid
          created = Native::Producer.new(@config.rdkafka_producer)
          created.report_acks = @instrumenter.listening?(:acknowledged_message)
          created
        end
      end
    end

    def partition_for(native, topic, partition_key)
      count, expires = @partition_counts[topic]
      now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      if count.nil? || now > expires
        count = native.partition_count(topic, @config.socket_timeout)
        @partition_counts[topic] = [count, now + 30]
      end
      native.partition_for(topic, partition_key, count, @config.partitioner.to_s)
    end

    def timestamp_ms(create_time)
      case create_time
      when nil then nil
      when Time then (create_time.to_r * 1000).to_i
      when Integer then create_time
      else raise ArgumentError, "create_time must be a Time or milliseconds since the epoch, got #{create_time.inspect}"
      end
    end

    def instrument_failure(error)
      return unless @instrumenter.listening?(:produce_delivery_error)

      @instrumenter.instrument(:produce_delivery_error, topic: error.topic, partition: error.partition, exception: error)
    end

    def report_events(native)
      native.drain_events.each do |type, *rest|
        case type
        when :delivery_error
          topic, partition, code, text = rest
          @logger.error("Failed to deliver a message to #{topic}/#{partition}: #{text} (#{code})")
          if @instrumenter.listening?(:produce_delivery_error)
            @instrumenter.instrument(:produce_delivery_error, topic: topic, partition: partition,
                                                              exception: MessageDeliveryError.new(text, code: code, topic: topic, partition: partition))
          end
        when :ack
          topic, partition, offset = rest
          @instrumenter.instrument(:acknowledged_message, topic: topic, partition: partition, offset: offset)
        when :log then LibrdkafkaLog.write(@logger, *rest)
        when :error then @logger.error("Kafka producer error: #{rest[1]} (#{rest[0]})")
        end
      end
    end
  end
end
