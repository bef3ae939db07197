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
require_relative "racecar/producer"
require_relative "racecar/runner"

# Racecar: Kafka consumers in small Ruby classes, with a native librdkafka core.
module Racecar
  class << self
    def config
      @config ||= Config.new(env: ENV)
    end

    attr_writer :config

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

    # The process-wide producer; built on first use (after any fork).
    def producer
      @producer_lock.synchronize do
        @producer ||= begin
          at_exit { @producer&.close }
          Producer.new(config: config, logger: logger, instrumenter: instrumenter)
        end
      end
    end

    # The manual shows both `produce_sync(value: v, topic: t)` and, in its
    # wait_for_delivery example, `produce_async(v, topic: t)`: both work.
    def produce_sync(positional_value = NO_VALUE, topic:, **options)
      producer.produce_sync(**message_arguments(positional_value, topic, options))
    end

    def produce_async(positional_value = NO_VALUE, topic:, **options)
      producer.produce_async(**message_arguments(positional_value, topic, options))
    end

    def wait_for_delivery(&block)
      producer.wait_for_delivery(&block)
    end

    private

    def message_arguments(positional_value, topic, options)
      if positional_value.equal?(NO_VALUE)
        raise ArgumentError, "missing keyword: :value" unless options.key?(:value)
      elsif options.key?(:value)
        raise ArgumentError, "give the value either as the first argument or as value:, not both"
      else
        options = options.merge(value: positional_value)
      end
      options.merge(topic: topic)
    end
  end

  NO_VALUE = Object.new.freeze
  private_constant :NO_VALUE

  @producer_lock = Mutex.new
end
