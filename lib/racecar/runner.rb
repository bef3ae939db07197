# frozen_string_literal: true

require "json"
require_relative "group_protocol_check"

module Racecar
  # Runs one consumer instance: builds the native consumer from the
  # configuration, hands it the loop, and is the object the C loop calls back
  # (deliver, handle_failure, handle_events, after_loop). `stop` is safe from
  # signal handlers and other threads.
  class Runner
    attr_reader :consumer, :config

    def initialize(consumer, config:, logger:, instrumenter:, producer: nil)
      @consumer = consumer
      @config = config
      @logger = logger
      @instrumenter = instrumenter
      @producer = producer
      @native = nil
      @stop_requested = false
      @main_loop = nil
      @poll_errors = 0
      @poll_error_seen = false
      @reported_pauses = nil
      @quiet_marker = instrumenter.respond_to?(:quiet_marker) ? instrumenter.quiet_marker : [false]
    end

    def run
      consumer_class = @consumer.class
      @mode = ConsumerValidation.check!(consumer_class)
      @config.load_consumer_class(consumer_class) unless @config.consumer_class == consumer_class
      @consumer.__racecar_attach(producer: @producer || Racecar.producer, instrumenter: @instrumenter)
      properties = consumer_properties
      GroupProtocolCheck.check!(properties)
      @native = Native::Consumer.new(properties, native_options)
      @native.stop if @stop_requested
      topics = @config.subscriptions.map(&:topic).uniq
      choose_dispatch
      # Upstream subscribes inside its first poll, so join_group comes within
      # the first main_loop, after start_main_loop.
      begin_main_loop
      timed(:join_group, base_payload) { @native.subscribe(topics) }
      @native.run(self, @config.fetch_messages, @config.max_wait_time, @mode == :process_batch)
    rescue Exception => e # rubocop:disable Lint/RescueException -- recorded in the open main_loop event, re-raised
      @main_loop&.finish(e)
      raise
    ensure
      shut_down
    end

    def stop
      @stop_requested = true
      @native&.stop
    end

    def stopping?
      @stop_requested
    end

    # ---- called by the native loop ----

    def deliver
      @consumer.deliver! if @consumer.pending_deliveries?
    end

    # failed: the Racecar::Message (process) or Array of them (process_batch).
    def handle_failure(exception, failed, retries_count, pause_seconds)
      info = failure_info(exception, failed, retries_count)
      where = "#{info[:topic]}/#{info[:partition]}"
      pause = pause_description(pause_seconds)
      @logger.error("#{@consumer.class.name} failed to process #{where} at #{info[:offset] || info[:first_offset]} " \
                    "(attempt #{retries_count + 1}): #{exception.class}: #{exception.message}; #{pause}")
      run_error_handler(exception, info)
      instrument_pause(info, pause_seconds) if pause_seconds
    rescue StandardError => e
      @logger.error("racecar failed while handling an error: #{e.class}: #{e.message}")
    end

    def handle_events(events)
      events.each do |type, *rest|
        case type
        when :log then LibrdkafkaLog.write(@logger, *rest)
        when :error then handle_kafka_error(*rest)
        when :statistics then handle_statistics(rest.first)
        when :assigned then handle_assigned(rest.first)
        when :revoked then handle_revoked(*rest)
        end
      end
    end

    # The end of one iteration (poll and processing) and, unless the runner
    # is stopping, the start of the next: the native loop polls right after
    # this returns, so main_loop times poll + processing as upstream's does.
    def after_loop(_processed_count)
      finish_main_loop if @main_loop
      if @poll_error_seen
        @poll_error_seen = false
      else
        @poll_errors = 0
      end
      # Nobody listens to anything (the instrumenter's own marker, see
      # Instrumenter#quiet_marker): no event to check one by one.
      if @quiet_marker[0] == $LOADED_FEATURES.size
        choose_dispatch unless @dispatch[0].equal?(@consumer)
        return
      end
      choose_dispatch
      report_pauses if @instrumenter.listening?(:pause_status)
      begin_main_loop unless @stop_requested
    end

    # Used instead of consumer.process when someone listens to the events.
    def process_instrumented(message)
      payload = message_payload(message)
      @instrumenter.instrument(:start_process_message, payload)
      @instrumenter.instrument(:process_message, payload) { @consumer.process(message) }
    end

    def process_batch_instrumented(messages)
      payload = batch_payload(messages)
      @instrumenter.instrument(:start_process_batch, payload)
      @instrumenter.instrument(:process_batch, payload) { @consumer.process_batch(messages) }
    end

    private

    def consumer_properties
      properties = @config.rdkafka_consumer.dup
      if @consumer.respond_to?(:statistics_callback)
        properties["statistics.interval.ms"] = @config.statistics_interval_ms.to_s
      end
      properties
    end

    def native_options
      starts = @config.subscriptions.to_h { |s| [s.topic, s.start_from_beginning ? true : false] }
      {
        start_positions: starts.values.uniq.size > 1 ? starts : nil,
        commit_interval: @config.offset_commit_interval,
        synchronous_commits: @config.synchronous_commits,
        pause_timeout: @config.pause_timeout,
        pause_with_exponential_backoff: @config.pause_with_exponential_backoff,
        max_pause_timeout: @config.max_pause_timeout,
      }
    end

    # start_main_loop fires once per iteration, before the poll (the liveness
    # probe touches its file on it); main_loop is a span until after_loop.
    # Not reached while nobody listens at all (after_loop's shortcut).
    def begin_main_loop
      @instrumenter.instrument(:start_main_loop, base_payload) if @instrumenter.listening?(:start_main_loop)
      @main_loop = @instrumenter.start(:main_loop, base_payload) if @instrumenter.listening?(:main_loop)
    end

    def finish_main_loop
      span = @main_loop
      return unless span

      @main_loop = nil
      span.finish
    end

    # A block event only while someone listens; otherwise just the block.
    def timed(name, payload, &block)
      return yield unless @instrumenter.listening?(name)

      @instrumenter.instrument(name, payload, &block)
    end

    def choose_dispatch
      instrumented = @mode == :process ? :process_instrumented : :process_batch_instrumented
      listening = @instrumenter.listening?(@mode == :process ? :process_message : :process_batch) ||
                  @instrumenter.listening?(@mode == :process ? :start_process_message : :start_process_batch)
      target = listening ? [self, instrumented] : [@consumer, @mode]
      return if target == @dispatch

      @dispatch = target
      @native.dispatch_to(*target)
    end

    def shut_down
      native = @native
      return unless native

      begin
        @consumer.deliver! if @consumer.pending_deliveries?
      rescue StandardError => e
        @logger.error("Delivering produced messages at shutdown failed: #{e.message}")
      end
      begin
        @consumer.teardown
      rescue StandardError => e
        @logger.error("#{@consumer.class.name}#teardown raised #{e.class}: #{e.message}")
      ensure
        # Even a teardown that exits or is interrupted must not skip the final
        # commit and leaving the group. The revocation that closing causes is
        # handled inside leave_group, as upstream's happens inside its close.
        timed(:leave_group, base_payload) do
          native.close
          @closing = true # a fatal error now is only reported: the runner is leaving anyway
          handle_events(native.drain_events)
        end
      end
      @instrumenter.instrument(:shut_down, base_payload)
      @logger.info("#{@consumer.class.name} stopped")
    ensure
      finish_main_loop # a stop that came between after_loop and the next poll
      @native = nil
    end

    def base_payload
      { consumer_class: consumer_class_name, client_id: @config.client_id, group_id: @config.group_id }
    end

    # Built once per message while someone listens: one Hash literal, no
    # merging, no config lookups (they dominated the cost).
    def message_payload(message)
      @identity ||= [consumer_class_name, @config.client_id, @config.group_id].freeze
      {
        consumer_class: @identity[0], client_id: @identity[1], group_id: @identity[2],
        topic: message.topic, partition: message.partition, offset: message.offset,
        create_time: message.create_time, key: message.key, value: message.value,
        headers: message.headers, retries_count: message.retries_count,
      }
    end

    def consumer_class_name
      @consumer_class_name ||= @consumer.class.name
    end

    def batch_payload(messages)
      first = messages.first
      base_payload.merge!(topic: first.topic, partition: first.partition, first_offset: first.offset,
                          last_offset: messages.last.offset, last_create_time: messages.last.create_time,
                          message_count: messages.size, retries_count: first.retries_count)
    end

    # Upstream's on_error keys, in its order; a single message's info also
    # has message_count (1), which racecar always had.
    def failure_info(exception, failed, retries_count)
      info = case failed
             when Array
               batch_payload(failed).slice(:consumer_class, :topic, :partition, :first_offset, :last_offset,
                                           :last_create_time, :message_count)
             when nil
               { consumer_class: consumer_class_name, topic: nil, partition: nil, offset: nil, create_time: nil,
                 key: nil, value: nil, headers: nil }
             else
               message_payload(failed).slice(:consumer_class, :topic, :partition, :offset, :create_time, :key,
                                             :value, :headers)
             end
      info[:message_count] ||= 1
      info[:retries_count] = retries_count
      info[:unrecoverable_delivery_error] = unrecoverable_delivery_error?(exception)
      info
    end

    # Upstream resets its producer after a delivery timeout and tells the
    # handler so; racecar's producer recovers by itself (its connections are
    # librdkafka's to re-establish), but the flag means the same thing: the
    # message was not lost to a bug in process, the brokers did not answer.
    def unrecoverable_delivery_error?(exception)
      exception.is_a?(MessageDeliveryError) && exception.code == :msg_timed_out
    end

    def pause_description(seconds)
      return "pausing the partition until restart" if seconds.nil?
      return "retrying right away (pause_timeout is 0)" if seconds.zero?

      "pausing the partition for #{seconds.round(3)}s"
    end

    def run_error_handler(exception, info)
      ErrorHandler.call(@config.error_handler, exception, info)
    rescue StandardError => e
      @logger.error("The on_error handler raised #{e.class}: #{e.message}")
    end

    def instrument_pause(info, seconds)
      return unless @instrumenter.listening?(:pause_status)

      @instrumenter.instrument(:pause_status, base_payload.merge!(topic: info[:topic], partition: info[:partition],
                                                                   duration: 0.0, pause_for: seconds))
    end

    # Paused partitions every iteration, and once more with duration 0 when a
    # pause ended: upstream reports every partition it ever saw, so a Datadog
    # pause.duration gauge falls back to 0 after a resume instead of keeping
    # the last paused value.
    def report_pauses
      paused = @native.paused_partitions
      previous = @reported_pauses
      @reported_pauses = paused.empty? ? nil : paused.map { |topic, partition, _, _| [topic, partition] }
      paused.each do |topic, partition, paused_for, _retries|
        @instrumenter.instrument(:pause_status, base_payload.merge!(topic: topic, partition: partition, duration: paused_for))
      end
      previous&.each do |topic, partition|
        next if @reported_pauses&.include?([topic, partition])

        @instrumenter.instrument(:pause_status, base_payload.merge!(topic: topic, partition: partition, duration: 0.0))
      end
    end

    def handle_kafka_error(code, text, fatal)
      error = KafkaError.new("Kafka error: #{text} (#{code})", code: code, fatal: fatal)
      @poll_errors += 1
      @poll_error_seen = true
      if @instrumenter.listening?(:poll_error)
        @instrumenter.instrument(:poll_error, base_payload.merge!(exception: error))
      end
      instrument_poll_retry(error)
      if fatal
        raise error unless @closing

        @logger.error(error.message)
      else
        # Transient: librdkafka retries with its own backoff.
        @logger.warn(error.message)
      end
    end

    # Upstream's name for a failed poll: `try` counts the consecutive
    # iterations with an error (librdkafka retries by itself, racecar does not
    # give up after ten), `rdkafka_time_limit` is the poll's budget in ms.
    def instrument_poll_retry(error)
      return unless @instrumenter.listening?(:poll_retry)

      @instrumenter.instrument(:poll_retry, base_payload.merge!(try: @poll_errors, exception: error,
                                                                rdkafka_time_limit: (@config.max_wait_time * 1000).round))
    end

    def handle_statistics(json)
      stats = JSON.parse(json)
      @consumer.statistics_callback(stats) if @consumer.respond_to?(:statistics_callback)
      @instrumenter.instrument(:statistics, base_payload.merge!(statistics: stats)) if @instrumenter.listening?(:statistics)
    rescue StandardError => e
      @logger.error("statistics_callback raised #{e.class}: #{e.message}")
    end

    def handle_assigned(topic_partitions)
      @logger.info("Assigned partitions: #{describe(topic_partitions)}")
      event = RebalanceEvent.new(topic_partitions: topic_partitions, consumer_class: @consumer.class, group_id: @config.group_id)
      run_hook(:partitions_assigned, event) { @consumer.class.on_partitions_assigned(event) }
    end

    def handle_revoked(topic_partitions, lost)
      @logger.info("#{lost ? 'Lost' : 'Revoked'} partitions: #{describe(topic_partitions)}")
      event = RebalanceEvent.new(topic_partitions: topic_partitions, consumer_class: @consumer.class,
                                 group_id: @config.group_id, lost: lost)
      run_hook(:partitions_revoked, event) { @consumer.class.on_partitions_revoked(event) }
    end

    # A hook that raises is logged and the consumer goes on, as under
    # upstream Racecar (rdkafka logs what its rebalance listener raises): the
    # assignment itself has already happened in C. The event records it.
    def run_hook(name, event, &hook)
      timed(name, rebalance_payload(event), &hook)
    rescue StandardError => e
      @logger.error("#{@consumer.class.name}.on_#{name} raised #{e.class}: #{e.message}")
    end

    # `partitions` is upstream's key (the numbers, see RebalanceEvent#partition_numbers).
    def rebalance_payload(event)
      base_payload.merge!(partitions: event.partition_numbers, topic_partitions: event.topic_partitions)
    end

    def describe(topic_partitions)
      return "none" if topic_partitions.empty?

      topic_partitions.map { |topic, parts| "#{topic}/#{parts.sort.join(',')}" }.join(" ")
    end
  end
end
