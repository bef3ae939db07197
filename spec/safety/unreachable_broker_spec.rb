# frozen_string_literal: true

require "socket"
require "stringio"
require_relative "../support/consumer_helpers"

# A consumer started while its bootstrap broker cannot be reached: it says so
# in plain words, keeps retrying at librdkafka's backoff (no flood, no crash,
# no restart loop) and starts consuming once the broker answers.
RSpec.describe "An unreachable broker at start", :kafka do
  include ConsumerHelpers

  after { stop_started_consumers }

  # Forwards connections on a local port to the real broker once opened. The
  # broker advertises its own address, so only bootstrapping goes through here.
  class BootstrapGate
    attr_reader :port

    def initialize(target)
      @target_host, @target_port = target.split(":")
      probe = TCPServer.new("127.0.0.1", 0)
      @port = probe.addr[1]
      probe.close
      @threads = []
    end

    def open
      @server = TCPServer.new("127.0.0.1", @port)
      @threads << Thread.new do
        loop { forward(@server.accept) }
      rescue IOError # closed by #close
        nil
      end
    end

    def close
      @server&.close
      @threads.each(&:kill)
    end

    private

    def forward(client)
      upstream = TCPSocket.new(@target_host, Integer(@target_port))
      @threads << Thread.new { IO.copy_stream(client, upstream) rescue nil } # rubocop:disable Style/RescueModifier
      @threads << Thread.new { IO.copy_stream(upstream, client) rescue nil } # rubocop:disable Style/RescueModifier
    end
  end

  it "logs a clear connection error, retries without flooding, and consumes once the broker answers" do
    topic = create_topic
    produce_messages(topic, [{ value: "waiting for you" }])
    gate = BootstrapGate.new(brokers)
    log = StringIO.new
    config = spec_config
    config.brokers = ["127.0.0.1:#{gate.port}"]
    config.logger = Logger.new(log)
    seen = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| seen << message.value }
    end
    running = start_consumer(klass.new, config: config)

    eventually(message: "a connection error in the log") { log.string.include?("Connection refused") }
    sleep 4
    expect(running).to be_alive
    expect(log.string).to match(/127\.0\.0\.1:#{gate.port}.*Connect to ipv4#127\.0\.0\.1:#{gate.port} failed: Connection refused/)
    expect(log.string).to include("1/1 brokers are down")
    expect(log.string.lines.size).to be < 20

    gate.open
    eventually(timeout: 30, message: "the message, once the broker is reachable") { seen == ["waiting for you"] }
    expect(running.stop).to be < 5
  ensure
    gate&.close
  end
end
