# frozen_string_literal: true

module Racecar
  # The process-wide producer behind Racecar.produce_sync / produce_async /
  # wait_for_delivery and Consumer#produce. One librdkafka handle per process,
  # built lazily, rebuilt in a forked child, closed at exit.
  #
  # Delivery reports are served by a C thread. Messages produced with a
  # tracker (produce_sync, wait_for_delivery, Consumer#produce) are reported
  # by whoever waits on the tracker. Messages produced without one
  # (produce_async) are reported by a small reporter thread that exists only
  # while such messages are in flight and sleeps in C until there is news.
  class Producer
    WAIT_MARGIN = 5 # seconds beyond message_timeout before a wait gives up
    REPORT_INTERVAL = 1.0 # longest sleep of the reporter thread between checks
    PARTITION_COUNT_TTL = 30 # seconds a topic's partition count is trusted
    TOPIC_NOT_READY = %i[unknown_topic_or_part leader_not_available unknown_topic].freeze
    # Given to Native::Producer#produce for "the tracker of the calling
    # fiber's wait_for_delivery block, if one runs" (DeliveryTracker#activate).
    CALLING_FIBERS_TRACKER = true

    def initialize(config:, logger:, instrumenter:)
      @config = config
      @logger = logger
      @instrumenter = instrumenter
      @lock = Mutex.new
      @reporter_lock = Mutex.new
      @reporter = nil
      @native = nil
      @generation = nil
      @partition_counts = {}
      @last_client_error = nil # [text, monotonic time]
      @async_lane = Native::AsyncProduceLane.new(self, instrumenter.quiet_marker, $LOADED_FEATURES)
    end

    # produce_async's per-message path, in C (ext/racecar_native/producer_hot_path.c):
    # Racecar.produce_async calls async_lane.produce(value, topic, key, partition,
    # partition_key, headers, create_time). It sends the common message (nobody
    # listening, no partition_key or create_time, a handle already built) to
    # librdkafka itself and hands everything else to produce_async_in_ruby. It
    # reads nothing of this object: the handle, the reporter thread and the
    # instrumenter's quiet marker are given to it (#native=, #reporter=, new).
    attr_reader :async_lane

    def new_tracker
      Native::DeliveryTracker.new
    end

    # Consumer#produce: queues a message counted by the consumer's tracker.
    # Published as produce_message; buffer_size counts the messages produced
    # before this one since the last deliver!, as upstream's buffer of
    # delivery handles does.
    def produce(value:, topic:, key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil,
                tracker: nil)
      unless @instrumenter.listening?(:produce_message)
        enqueue(tracker, value, topic, key, partition, partition_key, headers, create_time)
        return nil
      end

      buffered = tracker ? tracker.pending + tracker.delivered : handle.queue_length
      payload = event_payload(topic, partition, partition_key, key, value, headers, buffered)
      # Upstream's create_time here is when produce was called; the message's
      # own timestamp (the create_time argument) goes to Kafka.
      payload[:create_time] = Time.now
      @instrumenter.instrument(:produce_message, payload) do
        enqueue(tracker, value, topic, key, partition, partition_key, headers, create_time)
      end
      nil
    end

    # Returns once the broker acknowledged the message; raises
    # MessageDeliveryError otherwise.
    def produce_sync(value:, topic:, key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil)
      if @instrumenter.listening?(:produce_sync)
        payload = standalone_payload(topic, partition, partition_key, key, value, headers, create_time)
      end
      @instrumenter.instrument(:produce_sync, payload) do
        tracker = new_tracker
        enqueue(tracker, value, topic, key, partition, partition_key, headers, create_time)
        wait_for(tracker, instrument: false)
      end
      nil
    end

    # Returns once the message is queued. Inside wait_for_delivery the block's
    # caller learns the outcome; otherwise failures are logged and published
    # as produce_delivery_error.
    def produce_async(value:, topic:, key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil)
      @async_lane.produce(value, topic, key, partition, partition_key, headers, create_time)
    end

    # Waits for everything produce_async'ed inside the block (on this thread)
    # and raises MessageDeliveryError if any of it failed.
    def wait_for_delivery
      tracker = new_tracker
      tracker.activate
      begin
        result = yield
      ensure
        tracker.deactivate
      end
      wait_for(tracker)
      result
    end

    # Blocks (GVL released, interruptible) until the tracker's messages are
    # acknowledged; raises MessageDeliveryError for failures or a stuck
    # broker. Published as deliver_messages unless instrument is false.
    def wait_for(tracker, instrument: true)
      return settle(tracker, nil) unless instrument && @instrumenter.listening?(:deliver_messages)

      payload = { delivered_message_count: 0, client_id: @config.client_id, group_id: @config.group_id }
      @instrumenter.instrument(:deliver_messages, payload) { settle(tracker, payload) }
    end

    def close(timeout = nil)
      @lock.synchronize do
        return unless @native && @generation == Native::Producer.fork_generation

        native = @native
        self.native = nil
        native.close(timeout || @config.message_timeout)
        reporter = @reporter_lock.synchronize { @reporter }
        # The reporter sees the closed handle and finishes on its own.
        reporter.join(REPORT_INTERVAL * 2) if reporter && reporter != Thread.current
        report_events(native)
      end
    end

    private

    def handle
      native = @native
      return native if native && @generation == Native::Producer.fork_generation

      @lock.synchronize do
        if @native && @generation != Native::Producer.fork_generation
          # Forked child: the parent's librdkafka and reporter threads do not
          # exist here.
          @native.abandon!
          self.native = nil
          @reporter_lock = Mutex.new
          self.reporter = nil
        end
        @native || begin
          @generation = Native::Producer.fork_generation
          created = Native::Producer.new(@config.rdkafka_producer)
          refresh_report_acks(created)
          self.native = created
        end
      end
    end

    # @native and @reporter are told to the async lane too, which reads them
    # in C; they change only here.
    def native=(native)
      @native = native
      @async_lane.native = native
    end

    def reporter=(thread)
      @reporter = thread
      @async_lane.reporter = thread
    end

    # produce_async for every message the async lane does not send itself
    # (see #async_lane); it calls this one.
    def produce_async_in_ruby(value, topic, key, partition, partition_key, headers, create_time)
      if @instrumenter.listening?(:produce_async)
        return produce_async_instrumented(value, topic, key, partition, partition_key, headers, create_time)
      end

      tracked = enqueue(CALLING_FIBERS_TRACKER, value, topic, key, partition, partition_key, headers, create_time)
      ensure_reporter unless tracked || @reporter
      nil
    end

    # Returns whether the message is tracked. Type conversions (to_s of a
    # Symbol topic or Integer key) happen in C. A handle built by the parent
    # of this forked process refuses the message (nil); the child then builds
    # its own and produces again.
    def enqueue(tracker, value, topic, key, partition, partition_key, headers, create_time)
      native = @native || handle
      timestamp = create_time.nil? ? nil : timestamp_ms(create_time)
      if partition.nil? && !partition_key.nil?
        native = handle
        partition = partition_for(native, topic.to_s, partition_key.to_s)
      end
      tracked = native.produce(topic, value, key, partition, headers, timestamp, tracker)
      tracked = handle.produce(topic, value, key, partition, headers, timestamp, tracker) if tracked.nil?
      tracked
    rescue MessageDeliveryError => e
      raise DeliveryFailure.rejected(topic.to_s, partition, e.code, e.message)
    end

    def produce_async_instrumented(value, topic, key, partition, partition_key, headers, create_time)
      payload = standalone_payload(topic, partition, partition_key, key, value, headers, create_time)
      @instrumenter.instrument(:produce_async, payload) do
        tracked = enqueue(CALLING_FIBERS_TRACKER, value, topic, key, partition, partition_key, headers, create_time)
        ensure_reporter unless tracked || @reporter
      end
      nil
    end

    # Delivery reports only queue acknowledgements while someone listens;
    # checked whenever a wait starts and on every wake of the reporter.
    def refresh_report_acks(native)
      native.report_acks = @instrumenter.listening?(:acknowledged_message)
    end

    def settle(tracker, payload)
      refresh_report_acks(@native) if @native
      seconds = @config.message_timeout + WAIT_MARGIN
      native = @native
      finished = native ? native.await(tracker, seconds) : tracker.wait(seconds)
      report_events(@native) if @native
      payload[:delivered_message_count] = tracker.delivered if payload
      failures = tracker.take_failures
      unless failures.empty?
        failures.each { |topic, partition, code, text| instrument_failure(topic, partition, code, text) }
        raise DeliveryFailure.error_for(failures, recent_client_error)
      end
      raise DeliveryFailure.not_acknowledged(tracker.pending, seconds, recent_client_error) unless finished

      nil
    end

    # Starts the reporter unless one runs. Callers skip this when @reporter
    # is set; see report_until_settled for why that unlocked read is safe.
    def ensure_reporter
      native = handle
      @reporter_lock.synchronize do
        self.reporter = nil unless @reporter&.alive?
        unless @reporter
          thread = Thread.new(native) { |n| report_until_settled(n) }
          thread.name = "racecar-producer-reporter"
          thread.report_on_exception = false
          self.reporter = thread
        end
      end
    end

    # Runs until no produce_async message is in flight. Finishing races with
    # producers that saw @reporter set and so started no new reporter: after
    # clearing @reporter the thread looks again, and takes the job back if a
    # message came in meanwhile and nobody else started a reporter. (A
    # producer counts its message before it reads @reporter.)
    def report_until_settled(native)
      loop do
        refresh_report_acks(native) unless native.closed?
        native.wait_for_report(REPORT_INTERVAL)
        report_events_safely(native)
        next unless native.closed? || native.untracked.zero?

        @reporter_lock.synchronize { self.reporter = nil if @reporter == Thread.current }
        # Events pushed just before the last message settled.
        report_events_safely(native)
        break if native.closed? || native.untracked.zero?
        break unless @reporter_lock.synchronize { @reporter.nil? && (self.reporter = Thread.current) }
      end
    ensure
      @reporter_lock.synchronize { self.reporter = nil if @reporter == Thread.current }
    end

    def report_events_safely(native)
      report_events(native)
    rescue StandardError => e
      @logger.error("Racecar producer could not report deliveries: #{e.class}: #{e.message}")
    end

    def partition_for(native, topic, partition_key)
      count, expires = @partition_counts[topic]
      now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      if count.nil? || now > expires
        count = partition_count(native, topic, now + @config.socket_timeout)
        @partition_counts[topic] = [count, now + PARTITION_COUNT_TTL]
      end
      native.partition_for(topic, partition_key, count, @config.partitioner.to_s)
    end

    # A topic the broker creates on first use answers "unknown" or "no
    # leader" for a moment; ask again until it has partitions or time is up.
    def partition_count(native, topic, deadline)
      loop do
        remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        begin
          count = native.partition_count(topic, remaining.clamp(0.1, nil))
          return count if count.positive? || remaining <= 0
        rescue MessageDeliveryError => e
          raise unless TOPIC_NOT_READY.include?(e.code) && remaining.positive?
        end
        sleep 0.1
      end
    end

    def timestamp_ms(create_time)
      case create_time
      when nil then nil
      when Time then (create_time.to_r * 1000).to_i
      when Integer then create_time
      else raise ArgumentError, "create_time must be a Time or milliseconds since the epoch, got #{create_time.inspect}"
      end
    end

    # Upstream's payload keys (message_size: the value's bytes, 0 without
    # one) plus headers; client_id and group_id as on every racecar event.
    def event_payload(topic, partition, partition_key, key, value, headers, buffer_size)
      {
        topic: topic, partition: partition, partition_key: partition_key, key: key, value: value, headers: headers,
        message_size: value.respond_to?(:bytesize) ? value.bytesize : 0, buffer_size: buffer_size,
        client_id: @config.client_id, group_id: @config.group_id,
      }
    end

    # produce_sync / produce_async: buffer_size is librdkafka's out-queue
    # before this message (messages not yet acknowledged, and librdkafka's
    # own requests waiting to go out); create_time is the message's
    # timestamp as given.
    def standalone_payload(topic, partition, partition_key, key, value, headers, create_time)
      payload = event_payload(topic, partition, partition_key, key, value, headers, handle.queue_length)
      payload[:create_time] = create_time
      payload
    end

    def delivery_payload(topic, partition, extra)
      { topic: topic, partition: partition, client_id: @config.client_id, group_id: @config.group_id, **extra }
    end

    def instrument_failure(topic, partition, code, text)
      return unless @instrumenter.listening?(:produce_delivery_error)

      error = DeliveryFailure.error_for([[topic, partition, code, text]], recent_client_error)
      @instrumenter.instrument(:produce_delivery_error, delivery_payload(topic, error.partition, exception: error))
    end

    def report_events(native)
      native.drain_events.each do |type, *rest|
        case type
        when :delivery_error
          topic, partition, code, text = rest
          error = DeliveryFailure.error_for([[topic, partition, code, text]], recent_client_error)
          @logger.error(error.message)
          if @instrumenter.listening?(:produce_delivery_error)
            payload = delivery_payload(topic, error.partition, exception: error)
            @instrumenter.instrument(:produce_delivery_error, payload)
          end
        when :ack
          topic, partition, offset = rest
          @instrumenter.instrument(:acknowledged_message, delivery_payload(topic, partition, offset: offset))
        when :log then LibrdkafkaLog.write(@logger, *rest)
        when :error
          @logger.error("Kafka producer error: #{rest[1]} (#{rest[0]})")
          @last_client_error = [rest[1], Process.clock_gettime(Process::CLOCK_MONOTONIC)]
        end
      end
    end

    # The brokers' last error, when it came within the time a message may
    # wait for them (older ones are not why this message timed out).
    def recent_client_error
      text, at = @last_client_error
      return nil unless text

      text if Process.clock_gettime(Process::CLOCK_MONOTONIC) - at <= @config.message_timeout + WAIT_MARGIN
    end
  end
end
