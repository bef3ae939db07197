# frozen_string_literal: true

require "json"
require "open3"
require "stringio"

# Helpers for the producer specs: isolated producers that are closed after
# each example, a logger that can be read back, and kcat (an independent
# Kafka client) to see what really arrived on the broker.
module ProducerHelpers
  # One message as kcat saw it. headers: Array of [name, value] pairs in
  # order (value nil for a null header).
  Received = Struct.new(:partition, :offset, :timestamp, :key, :value, :headers, keyword_init: true)

  UNREACHABLE = "127.0.0.1:1" # nothing listens there: connections are refused

  def log_output
    @log_output ||= StringIO.new
  end

  def captured_logger
    Logger.new(log_output)
  end

  def null_instrumenter
    Racecar::Instrumenter.new(backend: nil)
  end

  # A producer that shares nothing with Racecar.producer; closed after the example.
  def isolated_producer(config, instrumenter: null_instrumenter, logger: config.logger)
    producer = Racecar::Producer.new(config: config, logger: logger, instrumenter: instrumenter)
    isolated_producers << producer
    producer
  end

  def isolated_producers
    @isolated_producers ||= []
  end

  def close_isolated_producers
    isolated_producers.each { |producer| producer.close(0.5) }
  end

  # A config for a producer that can never reach a broker.
  def unreachable_config(**overrides)
    config = Racecar::Config.new(env: {})
    config.brokers = [UNREACHABLE]
    config.logger = Logger.new(File::NULL)
    overrides.each { |key, value| config.public_send("#{key}=", value) }
    config
  end

  # Reads the topic from the beginning with kcat. With count: waits until
  # that many arrived (failing after timeout); without: what is there now.
  def kcat_read(topic, count: nil, timeout: 30)
    args = ["kcat", "-b", brokers, "-C", "-t", topic, "-o", "beginning", "-J", "-q"]
    args += count ? ["-c", count.to_s] : ["-e"]
    out, err, status = Open3.capture3("timeout", timeout.to_s, *args, binmode: true)
    received = out.each_line.map { |line| parse_kcat_line(line) }
    return received if status.success?

    raise "kcat read #{received.size} of #{count || 'all'} messages from #{topic} (exit #{status.exitstatus}): #{err}"
  end

  def parse_kcat_line(line)
    json = JSON.parse(line.force_encoding(Encoding::UTF_8))
    headers = (json["headers"] || []).each_slice(2).map { |name, value| [name, value&.b] }
    Received.new(partition: json["partition"], offset: json["offset"], timestamp: json["ts"],
                 key: json["key"]&.b, value: json["payload"]&.b, headers: headers)
  end

  # Waits until `thread` is blocked inside racecar (asleep without the GVL,
  # racecar's own frame innermost), so what the spec does next meets a
  # produce that is really waiting, not one that has yet to start.
  def await_blocked_in_racecar(thread, timeout: 20)
    lib = File.expand_path("../../lib/racecar/", __dir__)
    deadline = monotonic + timeout
    until thread.status == "sleep" && thread.backtrace&.first.to_s.start_with?(lib)
      raise "the thread never blocked inside racecar: #{thread.status.inspect} #{thread.backtrace&.first(3)}" if
        monotonic > deadline || !thread.alive?

      Thread.pass
    end
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Runs the block with Racecar.config = config and a fresh process-wide
  # producer, restoring the previous ones afterwards.
  def with_racecar_config(config, instrumenter: null_instrumenter)
    saved = %i[@config @producer @instrumenter].to_h { |name| [name, Racecar.instance_variable_get(name)] }
    Racecar.config = config
    Racecar.instrumenter = instrumenter
    Racecar.instance_variable_set(:@producer, nil)
    yield
  ensure
    Racecar.instance_variable_get(:@producer)&.close(5)
    saved.each { |name, value| Racecar.instance_variable_set(name, value) }
  end
end

RSpec.configure do |config|
  config.include ProducerHelpers, :producer
  config.after(:each, :producer) { close_isolated_producers }
end
