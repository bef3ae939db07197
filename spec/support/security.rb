# frozen_string_literal: true

require "stringio"
require_relative "kafka"
require_relative "consumer_helpers"

# The secured listeners of the broker started by bin/kafka, and helpers to
# configure racecar for them and read what it logged.
module SecurityHelpers
  CERTS = KafkaHelpers::CERTS
  SSL_BROKERS = KafkaHelpers::SSL_BROKERS
  SASL_BROKERS = KafkaHelpers::SASL_BROKERS
  CA = File.join(CERTS, "ca.pem")
  WRONG_CA = File.join(CERTS, "wrong-ca.pem")
  PLAIN_USER = %w[racecar racecar-secret].freeze
  SCRAM_USER = %w[racecar-scram scram-secret].freeze

  include ConsumerHelpers

  def self.included(group)
    group.after do
      stop_started_consumers
      close_producers
    end
  end

  # A spec_config for the secured listener, logging everything at debug level
  # into #log. librdkafka_debug adds librdkafka's own debug contexts.
  def secure_config(brokers:, librdkafka_debug: nil, **settings)
    config = spec_config(**settings)
    config.brokers = [brokers]
    config.log_level = "debug"
    config.logger = Logger.new(log, level: Logger::DEBUG)
    if librdkafka_debug
      config.consumer = ["debug=#{librdkafka_debug}"]
      config.producer = ["debug=#{librdkafka_debug}"]
    end
    config
  end

  def ssl_config(ca: CA, **settings)
    secure_config(brokers: SSL_BROKERS, security_protocol: "ssl", ssl_ca_location: ca, **settings)
  end

  def sasl_config(mechanism:, username:, password:, **settings)
    secure_config(brokers: SASL_BROKERS, security_protocol: "sasl_plaintext", sasl_mechanism: mechanism,
                  sasl_username: username, sasl_password: password, **settings)
  end

  def log
    @log ||= StringIO.new
  end

  def log_lines
    log.string.lines
  end

  def isolated_producer(config)
    producer = Racecar::Producer.new(config: config, logger: config.logger,
                                     instrumenter: Racecar::Instrumenter.new(backend: nil))
    (@secure_producers ||= []) << producer
    producer
  end

  def close_producers
    (@secure_producers || []).each { |producer| producer.close(1) }
  end

  # A consumer class reading the topic, recording message values.
  def recording_consumer(topic, seen)
    define_consumer do
      subscribes_to topic
      define_method(:process) { |message| seen << message.value }
    end
  end
end
