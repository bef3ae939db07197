# frozen_string_literal: true

require "rbconfig"
require_relative "../support/producer_helpers"

# Racecar.produce_async and wait_for_delivery against the real broker; what
# arrived is read back with kcat.
RSpec.describe "Racecar.produce_async", :kafka, :producer do
  let(:instrumenter) { null_instrumenter }
  let(:lib) { File.expand_path("../../lib", __dir__) }

  def wait_until(seconds)
    deadline = monotonic + seconds
    sleep 0.02 until yield || monotonic > deadline
    yield
  end

  it "returns before the message is sent, which happens in the background" do
    topic = create_topic
    # A 3 s linger keeps the message in the local queue while kcat looks.
    lingering = isolated_producer(spec_config(producer: ["linger.ms=3000"]))
    started = monotonic

    lingering.produce_async(value: "later", topic: topic)

    expect(monotonic - started).to be < 1 # not the 3 s linger
    expect(kcat_read(topic)).to be_empty # not yet on the broker
    expect(kcat_read(topic, count: 1, timeout: 10).map(&:value)).to eq(["later"])
  end

  describe "wait_for_delivery" do
    it "returns once everything produced inside the block is on the broker" do
      topic = create_topic(partitions: 2)
      lingering = isolated_producer(spec_config(producer: ["linger.ms=300"]))

      lingering.wait_for_delivery do
        100.times { |i| lingering.produce_async(value: i.to_s, topic: topic) }
      end

      expect(kcat_read(topic).map(&:value)).to match_array((0..99).map(&:to_s))
    end

    it "works through the Racecar module" do
      topic = create_topic

      with_racecar_config(spec_config(producer: ["linger.ms=300"])) do
        Racecar.wait_for_delivery { 3.times { |i| Racecar.produce_async(value: i.to_s, topic: topic) } }
      end

      expect(kcat_read(topic).map(&:value)).to eq(%w[0 1 2])
    end

    it "raises when one of the messages failed, after the others were delivered" do
      topic = create_topic
      permissive = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]))

      expect {
        permissive.wait_for_delivery do
          permissive.produce_async(value: "small 1", topic: topic)
          permissive.produce_async(value: "x" * 2_000_000, topic: topic)
          permissive.produce_async(value: "small 2", topic: topic)
        end
      }.to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:msg_size_too_large)
        expect([error.topic, error.partition]).to eq([topic, 0])
      }
      expect(kcat_read(topic).map(&:value)).to eq(["small 1", "small 2"])
    end

    it "waits neither for other threads' messages nor for those produced before the block" do
      topic = create_topic
      missing = unique_name("missing")
      # Messages to a topic that does not exist and may not be created stay
      # pending for the whole example.
      shared = isolated_producer(spec_config(message_timeout: 30, producer: ["allow.auto.create.topics=false",
                                                                            "topic.metadata.propagation.max.ms=60000"]))
      Thread.new { shared.produce_async(value: "other thread", topic: missing) }.join
      shared.produce_async(value: "before the block", topic: missing)
      started = monotonic

      shared.wait_for_delivery { shared.produce_async(value: "inside", topic: topic) }

      expect(monotonic - started).to be < 10 # not the others' 30 s message_timeout
      expect(kcat_read(topic).map(&:value)).to eq(["inside"])
    end
  end

  it "logs and publishes a failed delivery by itself, with no later call" do
    topic = create_topic
    errors = Queue.new
    instrumenter.subscribe(:produce_delivery_error) { |_name, payload, _duration| errors << payload }
    permissive = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]),
                                   instrumenter: instrumenter, logger: captured_logger)

    permissive.produce_async(value: "x" * 2_000_000, topic: topic)

    expect(wait_until(10) { errors.size == 1 }).to be(true)
    payload = errors.pop
    expect([payload[:topic], payload[:partition]]).to eq([topic, 0])
    expect(payload[:exception].code).to eq(:msg_size_too_large)
    expect(log_output.string).to include("ERROR").and include("Failed to deliver a message to #{topic}/0")
  end

  it "publishes acknowledged_message with the offset each message got" do
    topic = create_topic
    acks = Queue.new
    instrumenter.subscribe(:acknowledged_message) { |_name, payload, _duration| acks << payload }
    producer = isolated_producer(spec_config, instrumenter: instrumenter)

    3.times { |i| producer.produce_async(value: "v#{i}", topic: topic) }

    expect(wait_until(10) { acks.size == 3 }).to be(true)
    reported = 3.times.map { acks.pop }.to_h { |ack| [ack[:offset], [ack[:topic], ack[:partition]]] }
    received = kcat_read(topic).to_h { |m| [m.offset, [topic, m.partition]] }
    expect(reported).to eq(received)
  end

  it "takes messages from many threads at once, all of which arrive" do
    topic = create_topic(partitions: 3)
    producer = isolated_producer(spec_config)

    threads = 10.times.map do |t|
      Thread.new do
        producer.wait_for_delivery { 200.times { |i| producer.produce_async(value: "#{t}-#{i}", topic: topic) } }
      end
    end
    threads.each(&:join)

    values = kcat_read(topic, count: 2000).map(&:value)
    expect(values).to match_array(10.times.flat_map { |t| 200.times.map { |i| "#{t}-#{i}" } })
  end

  it "waits for space in a full local queue instead of failing, and every message arrives" do
    topic = create_topic
    tiny_queue = isolated_producer(spec_config(producer: ["queue.buffering.max.messages=5", "linger.ms=20"]))

    tiny_queue.wait_for_delivery { 500.times { |i| tiny_queue.produce_async(value: i.to_s, topic: topic) } }

    expect(kcat_read(topic).map(&:value)).to eq((0..499).map(&:to_s))
  end

  it "delivers everything still queued when the process exits" do
    topic = create_topic
    script = <<~RUBY
      require "racecar"
      1000.times { |i| Racecar.produce_async(value: i.to_s, topic: #{topic.inspect}) }
      puts Racecar.producer.send(:handle).queue_length
    RUBY
    env = { "RACECAR_BROKERS" => brokers, "RACECAR_PRODUCER" => "linger.ms=500", "RACECAR_LOG_LEVEL" => "warn" }

    out, status = Open3.capture2e(env, RbConfig.ruby, "-I", lib, "-e", script)

    expect(status).to be_success, out
    expect(out.to_i).to be > 0 # still queued when the script ended
    expect(kcat_read(topic, count: 1000).map(&:value)).to eq((0..999).map(&:to_s))
  end
end
