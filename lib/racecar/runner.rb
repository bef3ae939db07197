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
      @joined = false
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
      @native.subscribe(@config.subscriptions.map(&:topic).uniq)
      choose_dispatch
      @instrumenter.instrument(:start_main_loop, base_payload) if @instrumenter.listening?(:start_main_loop)
      @native.run(self, @config.fetch_messages, @config.max_wait_time, @mode == :process_batch)
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
      info = failure_info(failed, retries_count)
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

    def after_loop(_processed_count)
      choose_dispatch
      @instrumenter.instrument(:main_loop, base_payload) if @instrumenter.listening?(:main_loop)
      report_pauses if @instrumenter.listening?(:pause_status)
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
        # commit and leaving the group.
        native.close
      end
      @closing = true # a fatal error now is only reported: the runner is leaving anyway
      handle_events(native.drain_events)
      @instrumenter.instrument(:leave_group, base_payload) if @joined
      @instrumenter.instrument(:shut_down, base_payload)
      @logger.info("#{@consumer.class.name} stopped")
    ensure
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

    def failure_info(failed, retries_count)
      case failed
      when Array
        batch_payload(failed).slice(:topic, :partition, :first_offset, :last_offset, :last_create_time,
                                    :message_count).merge(retries_count: retries_count)
      when nil
        { topic: nil, partition: nil, retries_count: retries_count }
      else
        message_payload(failed).slice(:topic, :partition, :offset, :create_time, :key, :value, :headers)
                               .merge(message_count: 1, retries_count: retries_count)
      end
    end

    def pause_description(seconds)
      return "pausing the partition until restart" if seconds.nil?
      return "retrying right away (pause_timeout is 0)" if seconds.zero?

      "pausing the partition for #{seconds.round(3)}s"
    end

    def run_error_handler(exception, info)
      handler = @config.error_handler
      handler&.call(exception, info)
    rescue StandardError => e
      @logger.error("The on_error handler raised #{e.class}: #{e.message}")
    end

    def instrument_pause(info, seconds)
      return unless @instrumenter.listening?(:pause_status)

      @instrumenter.instrument(:pause_status, base_payload.merge!(topic: info[:topic], partition: info[:partition],
                                                                   duration: 0.0, pause_for: seconds))
    end

    def report_pauses
      @native.paused_partitions.each do |topic, partition, paused_for, _retries|
        @instrumenter.instrument(:pause_status, base_payload.merge!(topic: topic, partition: partition, duration: paused_for))
      end
    end

    def handle_kafka_error(code, text, fatal)
      error = KafkaError.new("Kafka error: #{text} (#{code})", code: code, fatal: fatal)
      if @instrumenter.listening?(:poll_error)
        @instrumenter.instrument(:poll_error, base_payload.merge!(exception: error))
      end
      if fatal
        raise error unless @closing

        @logger.error(error.message)
      else
        # Transient: librdkafka retries with its own backoff.
        @logger.warn(error.message)
      end
    end

    def handle_statistics(json)
      stats = JSON.parse(json)
      @consumer.statistics_callback(stats) if @consumer.respond_to?(:statistics_callback)
      @instrumenter.instrument(:statistics, base_payload.merge!(statistics: stats)) if @instrumenter.listening?(:statistics)
    rescue StandardError => e
      @logger.error("statistics_callback raised #{e.class}: #{e.message}")
    end

    def handle_assigned(topic_partitions)
      unless @joined
        @joined = true
        @instrumenter.instrument(:join_group, base_payload) if @instrumenter.listening?(:join_group)
      end
      @logger.info("Assigned partitions: #{describe(topic_partitions)}")
      event = RebalanceEvent.new(topic_partitions: topic_partitions, consumer_class: @consumer.class, group_id: @config.group_id)
      @consumer.class.on_partitions_assigned(event)
      @instrumenter.instrument(:partitions_assigned, base_payload.merge!(topic_partitions: topic_partitions)) if @instrumenter.listening?(:partitions_assigned)
    end

    def handle_revoked(topic_partitions, lost)
      @logger.info("#{lost ? 'Lost' : 'Revoked'} partitions: #{describe(topic_partitions)}")
      event = RebalanceEvent.new(topic_partitions: topic_partitions, consumer_class: @consumer.class,
                                 group_id: @config.group_id, lost: lost)
      @consumer.class.on_partitions_revoked(event)
      @instrumenter.instrument(:partitions_revoked, base_payload.merge!(topic_partitions: topic_partitions)) if @instrumenter.listening?(:partitions_revoked)
    end

    def describe(topic_partitions)
      return "none" if topic_partitions.empty?

      topic_partitions.map { |topic, parts| "#{topic}/#{parts.sort.join(',')}" }.join(" ")
    end
  end
end
