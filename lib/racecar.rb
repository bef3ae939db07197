# frozen_string_literal: true

require_relative "racecar/version"
require_relative "racecar/errors"
require_relative "racecar/config"
require_relative "racecar/instrumenter"
require_relative "racecar/native"
require_relative "racecar/librdkafka_log"
require_relative "racecar/rebalance_event"
require_relative "racecar/consumer"
require_relative "racecar/consumer_validation"
require_relative "racecar/delivery_failure"
require_relative "racecar/error_handler"
require_relative "racecar/producer"
require_relative "racecar/runner"

# Racecar: Kafka consumers in small Ruby classes, with a native librdkafka core.
module Racecar
  class << self
    def config
      @config ||= Config.new(env: ENV)
    end


    def configure
      yield config
    end

    def logger
      config.logger
    end

    def logger=(logger)
      config.logger = logger
    end

    def instrumenter
      @instrumenter ||= Instrumenter.new
    end

    attr_writer :instrumenter

    def runner(consumer)
      Runner.new(consumer, config: config, logger: logger, instrumenter: instrumenter, producer: producer)
    end

    # The process-wide producer; built on first use (after any fork). Read
    # without the lock once built: this sits on produce_async's hot path.
    def producer
      @producer || @producer_lock.synchronize do
        @producer ||= begin
          register_producer_close
          install_datadog if config.datadog_enabled
          Producer.new(config: config, logger: logger, instrumenter: instrumenter)
        end
      end
    end

    # A new configuration also means a new producer (built from it on next use).
    def config=(config)
      old = @producer_lock.synchronize do
        @config = config
        @producer.tap { @producer = nil }
      end
      old&.close
    end

    # The manual shows both `produce_sync(value: v, topic: t)` and, in its
    # wait_for_delivery example, `produce_async(v, topic: t)`: both work. The
    # defaults record which one was given (nil is a valid value, a tombstone);
    # cheaper than comparing against a sentinel on this hot path.
    def produce_sync(positional_value = (no_positional = true; nil), value: (no_value = true; nil), topic:,
                     key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil)
      value = pick_value(no_positional, positional_value, no_value, value)
      producer.produce_sync(value: value, topic: topic, key: key, partition: partition, partition_key: partition_key,
                            headers: headers, create_time: create_time)
    end

    def produce_async(positional_value = (no_positional = true; nil), value: (no_value = true; nil), topic:,
                      key: nil, partition: nil, partition_key: nil, headers: nil, create_time: nil)
      value = pick_value(no_positional, positional_value, no_value, value) if no_value || !no_positional
      (@producer || producer).async_lane.produce(value, topic, key, partition, partition_key, headers, create_time)
    end

    def wait_for_delivery(&block)
      producer.wait_for_delivery(&block)
    end

    private

    def pick_value(no_positional, positional_value, no_value, value)
      if no_positional
        raise ArgumentError, "missing keyword: :value" if no_value

        value
      elsif no_value
        positional_value
      else
        raise ArgumentError, "give the value either as the first argument or as value:, not both"
      end
    end

    # As upstream's Racecar.producer: metrics of produce_sync / produce_async
    # also in a process that runs no consumer.
    def install_datadog
      require_relative "racecar/datadog"
      Datadog.install_once(config: config, instrumenter: instrumenter)
    end

    def register_producer_close
      return if @producer_close_registered

      @producer_close_registered = true
      at_exit { @producer&.close }
    end
  end

  @producer_lock = Mutex.new
end
