# frozen_string_literal: true

require "securerandom"
require "socket"
require "timeout"

# Helpers for specs that talk to the real broker started by bin/kafka.
#
# Where that broker is comes from the same variables bin/kafka reads, with the
# same defaults, so the suite runs against a second broker (another KAFKA_DIR,
# other ports) as well as against the first:
#   KAFKA_DIR        its directory: certs/, server.properties, kafka.pid (default <repo>/tmp/kafka)
#   KAFKA_PORT       PLAINTEXT listener (9092); KAFKA_BROKERS overrides the whole bootstrap list
#   KAFKA_SSL_PORT   SSL listener (9094)
#   KAFKA_SASL_PORT  SASL_PLAINTEXT listener (9095)
module KafkaHelpers
  ROOT = File.expand_path("../..", __dir__)
  BROKERS = ENV.fetch("KAFKA_BROKERS", "127.0.0.1:#{ENV.fetch('KAFKA_PORT', '9092')}")
  KAFKA_DIR = File.expand_path(ENV.fetch("KAFKA_DIR", File.join(ROOT, "tmp", "kafka")))
  CERTS = File.join(KAFKA_DIR, "certs")
  SERVER_PROPERTIES = File.join(KAFKA_DIR, "server.properties")
  SSL_BROKERS = "127.0.0.1:#{ENV.fetch('KAFKA_SSL_PORT', '9094')}"
  SASL_BROKERS = "127.0.0.1:#{ENV.fetch('KAFKA_SASL_PORT', '9095')}"

  @created_topics = []

  class << self
    attr_reader :created_topics

    def require_broker!
      host, port = BROKERS.split(",").first.split(":")
      Socket.tcp(host, Integer(port), connect_timeout: 2).close
    rescue SystemCallError, SocketError => e
      raise "No Kafka broker at #{BROKERS} (#{e.class}: #{e.message}). Start one with `bin/kafka start`; " \
            "integration specs never skip."
    end

    def admin_properties
      { "bootstrap.servers" => BROKERS }
    end

    def delete_created_topics
      return if created_topics.empty?

      Racecar::Native::Admin.delete_topics(admin_properties, created_topics.dup, 30)
      created_topics.clear
    rescue Racecar::KafkaError => e
      warn "could not delete spec topics: #{e.message}"
    end
  end

  def brokers
    BROKERS
  end

  def unique_name(prefix = "spec")
    "#{prefix}-#{SecureRandom.hex(6)}"
  end

  # Creates a topic with an exact partition count and waits until it is usable.
  def create_topic(name = unique_name("topic"), partitions: 1)
    result = Racecar::Native::Admin.create_topics(KafkaHelpers.admin_properties, [[name, partitions]], 30)
    raise "could not create #{name}: #{result[name]}" unless result[name] == true

    KafkaHelpers.created_topics << name
    wait_for_partitions(name, partitions)
    name
  end

  def wait_for_partitions(topic, partitions)
    producer = spec_producer
    Timeout.timeout(30) do
      loop do
        count = begin
          producer.partition_count(topic, 5)
        rescue Racecar::KafkaError
          0
        end
        break if count == partitions

        sleep 0.1
      end
    end
  end

  # A raw native producer for filling topics in specs.
  def spec_producer
    @spec_producer ||= Racecar::Native::Producer.new("bootstrap.servers" => brokers, "linger.ms" => "5")
  end

  # messages: Array of Hashes with :value and optional :key, :partition, :headers.
  def produce_messages(topic, messages)
    tracker = Racecar::Native::DeliveryTracker.new
    messages.each do |m|
      m = { value: m } unless m.is_a?(Hash)
      spec_producer.produce(topic, m[:value], m[:key], m[:partition], m[:headers], m[:create_time], tracker)
    end
    raise "delivery to #{topic} timed out" unless tracker.wait(60)

    failures = tracker.take_failures
    raise "delivery to #{topic} failed: #{failures.first.inspect}" unless failures.empty?
  end

  # A Racecar::Config pointing at the test broker, with fast group settings.
  def spec_config(**overrides)
    config = Racecar::Config.new(env: {})
    config.brokers = [brokers]
    config.max_wait_time = 0.2
    config.session_timeout = 6
    config.heartbeat_interval = 1
    config.offset_commit_interval = 1
    config.pause_timeout = 0.5
    config.logger = Logger.new(ENV["SPEC_LOG"] ? $stderr : File::NULL)
    overrides.each { |key, value| config.public_send("#{key}=", value) }
    config
  end

  # Runs a consumer instance in a thread until the block returns true (or
  # the timeout passes), then stops it and waits for a clean shutdown.
  def run_consumer(consumer, config: spec_config, instrumenter: Racecar::Instrumenter.new(backend: nil), timeout: 60)
    config.load_consumer_class(consumer.class)
    producer = Racecar::Producer.new(config: config, logger: config.logger, instrumenter: instrumenter)
    runner = Racecar::Runner.new(consumer, config: config, logger: config.logger, instrumenter: instrumenter,
                                           producer: producer)
    thread = Thread.new { runner.run }
    thread.report_on_exception = false
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until yield
      raise thread.value.inspect unless thread.alive? # surfaces the runner's exception
      raise "condition not met within #{timeout}s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    runner
  ensure
    runner&.stop
    thread&.join(30) || (thread && raise("runner did not stop within 30s"))
    producer&.close
  end
end
