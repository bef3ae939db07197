# frozen_string_literal: true

# Every error racecar raises, in one place. The native extension looks these
# classes up at load time instead of defining its own.
module Racecar
  class Error < StandardError; end

  # A configuration key or value was rejected, by racecar or by librdkafka.
  class ConfigError < Error; end

  # librdkafka reported a failure. `code` is librdkafka's error name as a
  # Symbol (e.g. :msg_timed_out), `fatal` whether the client is unusable.
  class KafkaError < Error
    attr_reader :code

    def initialize(message = nil, code: nil, fatal: false)
      super(message)
      @code = code
      @fatal = fatal
    end

    def fatal?
      @fatal
    end
  end

  # A produced message was not acknowledged by the broker.
  class MessageDeliveryError < KafkaError
    attr_reader :topic, :partition

    def initialize(message = nil, code: nil, topic: nil, partition: nil, fatal: false)
      super(message, code: code, fatal: fatal)
      @topic = topic
      @partition = partition
    end
  end
end
