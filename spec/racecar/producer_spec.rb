# frozen_string_literal: true

require_relative "../support/producer_helpers"

# Behaviour that needs no broker: an address where nothing listens makes
# every message wait until message_timeout and then fail.
RSpec.describe Racecar::Producer, :producer do
  let(:instrumenter) { null_instrumenter }

  def events_of(name)
    events = Queue.new
    instrumenter.subscribe(name) { |_event, payload, _duration| events << payload }
    events
  end

  def pop_within(queue, seconds)
    deadline = monotonic + seconds
    loop do
      return queue.pop(true)
    rescue ThreadError
      raise "nothing arrived within #{seconds}s" if monotonic > deadline

      sleep 0.02
    end
  end

  it "builds no librdkafka handle until the first message (a bad property surfaces only then)" do
    config = unreachable_config(producer: ["no.such.property=1"])

    producer = isolated_producer(config)

    expect { producer.produce_sync(value: "x", topic: "t") }.to raise_error(Racecar::ConfigError, /no\.such\.property/)
  end

  it "rejects a create_time that is neither a Time nor milliseconds" do
    producer = isolated_producer(unreachable_config)

    expect { producer.produce_async(value: "x", topic: "t", create_time: "yesterday") }
      .to raise_error(ArgumentError, /create_time must be a Time or milliseconds/)
  end

  describe "#produce_sync" do
    it "raises a timed-out MessageDeliveryError with topic and hint once message_timeout passed" do
      producer = isolated_producer(unreachable_config(message_timeout: 1))
      started = monotonic

      expect { producer.produce_sync(value: "x", topic: "orders") }.to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:msg_timed_out)
        expect(error.topic).to eq("orders")
        expect(error.partition).to be_nil
        expect(error.message).to include("within message_timeout; is the broker reachable?")
      }
      # librdkafka scans for timed-out messages once a second.
      expect(monotonic - started).to be_between(0.9, 10) # the upper bound only guards against a hang
    end

    it "lets other Ruby threads run while it waits" do
      producer = isolated_producer(unreachable_config(message_timeout: 1))
      ticks = 0
      waiting = Thread.new do
        producer.produce_sync(value: "x", topic: "orders")
      rescue Racecar::MessageDeliveryError
        :failed
      end
      ticks += 1 while waiting.alive? && (sleep(0.01) || true)

      expect(waiting.value).to eq(:failed)
      # ~1-2 s of waiting at 10 ms per tick; a held GVL would allow none.
      expect(ticks).to be > 50
    end

    it "is interrupted by Thread#raise while waiting" do
      producer = isolated_producer(unreachable_config(message_timeout: 30))
      waiting = Thread.new { producer.produce_sync(value: "x", topic: "orders") }
      waiting.report_on_exception = false
      await_blocked_in_racecar(waiting)

      started = monotonic
      waiting.raise(Interrupt)

      expect { waiting.join }.to raise_error(Interrupt)
      expect(monotonic - started).to be < 5 # not the 30 s message_timeout
    end
  end

  describe "#produce_async" do
    it "returns at once although the broker is unreachable" do
      producer = isolated_producer(unreachable_config(message_timeout: 5))
      producer.produce_async(value: "warm-up", topic: "orders") # builds the handle

      started = monotonic
      producer.produce_async(value: "x", topic: "orders")

      expect(monotonic - started).to be < 1 # not the 5 s message_timeout
    end

    it "logs a failed delivery and publishes produce_delivery_error without any further call" do
      failures = events_of(:produce_delivery_error)
      producer = isolated_producer(unreachable_config(message_timeout: 1), instrumenter: instrumenter,
                                                                            logger: captured_logger)

      producer.produce_async(value: "x", topic: "orders")
      payload = pop_within(failures, 5)

      expect(payload[:topic]).to eq("orders")
      expect(payload[:exception]).to be_a(Racecar::MessageDeliveryError)
      expect(payload[:exception].code).to eq(:msg_timed_out)
      expect(log_output.string).to match(/ERROR .*Failed to deliver a message to orders: .*msg_timed_out/)
    end

    it "reports through a thread that exists only while such messages are in flight" do
      producer = isolated_producer(unreachable_config(message_timeout: 1), logger: captured_logger)
      reporters = -> { Thread.list.select { |t| t.name == "racecar-producer-reporter" && t.alive? } }
      expect(reporters.call).to be_empty

      producer.produce_async(value: "x", topic: "orders")
      expect(reporters.call.size).to eq(1)
      producer.produce_async(value: "y", topic: "orders")
      expect(reporters.call.size).to eq(1) # one at a time

      deadline = monotonic + 5
      sleep 0.05 until reporters.call.empty? || monotonic > deadline
      expect(reporters.call).to be_empty
      expect(log_output.string.scan("Failed to deliver a message to orders").size).to eq(2)
    end

    it "publishes produce_async with the message's attributes" do
      events = events_of(:produce_async)
      producer = isolated_producer(unreachable_config, instrumenter: instrumenter)
      time = Time.at(1_700_000_000)

      producer.produce_async(value: "v", topic: "orders", key: "k", partition: 2, headers: { "h" => "1" },
                             create_time: time)

      payload = pop_within(events, 1)
      # buffer_size: librdkafka's out-queue, which also holds its own requests
      expect(payload.delete(:buffer_size)).to be_an(Integer).and be >= 0
      expect(payload).to eq(topic: "orders", partition: 2, partition_key: nil, key: "k", value: "v",
                            headers: { "h" => "1" }, create_time: time, message_size: 1, client_id: "racecar",
                            group_id: nil)
    end
  end

  describe "#wait_for_delivery" do
    it "raises for the failures inside the block, publishing one produce_delivery_error per message" do
      failures = events_of(:produce_delivery_error)
      producer = isolated_producer(unreachable_config(message_timeout: 1), instrumenter: instrumenter)

      expect {
        producer.wait_for_delivery { 3.times { |i| producer.produce_async(value: i.to_s, topic: "orders") } }
      }.to raise_error(Racecar::MessageDeliveryError, /msg_timed_out.*\(and 2 more failed\)/)
      expect(failures.size).to eq(3)
    end

    it "returns the block's value" do
      producer = isolated_producer(unreachable_config)

      expect(producer.wait_for_delivery { :done }).to eq(:done)
    end

    it "gives a nested block its own messages and the outer block the rest" do
      producer = isolated_producer(unreachable_config(message_timeout: 1))

      expect {
        producer.wait_for_delivery do
          producer.produce_async(value: "outer 1", topic: "orders")
          expect { producer.wait_for_delivery { producer.produce_async(value: "inner", topic: "orders") } }
            .to raise_error(Racecar::MessageDeliveryError) { |error| expect(error.message).not_to include("more failed") }
          producer.produce_async(value: "outer 2", topic: "orders")
        end
      }.to raise_error(Racecar::MessageDeliveryError, /\(and 1 more failed\)/)
    end

    it "does not wait for what another fiber produces inside the block" do
      producer = isolated_producer(unreachable_config(message_timeout: 5))
      started = monotonic

      producer.wait_for_delivery { Fiber.new { producer.produce_async(value: "elsewhere", topic: "orders") }.resume }

      expect(monotonic - started).to be < 2.5 # not the 5 s message_timeout
    end

    it "stops tracking when its block raises: a later produce_async failure is logged as untracked" do
      producer = isolated_producer(unreachable_config(message_timeout: 1), logger: captured_logger)
      expect { producer.wait_for_delivery { raise ArgumentError, "boom" } }.to raise_error(ArgumentError, "boom")

      producer.produce_async(value: "after", topic: "orders")

      deadline = monotonic + 10
      sleep 0.05 until log_output.string.include?("Failed to deliver a message to orders") || monotonic > deadline
      expect(log_output.string).to include("Failed to deliver a message to orders")
    end
  end

  describe "back-pressure" do
    let(:config) { unreachable_config(message_timeout: 1, producer: ["queue.buffering.max.messages=2"]) }

    it "makes a produce into a full local queue wait until space frees up instead of failing" do
      producer = isolated_producer(config)
      2.times { |i| producer.produce_async(value: i.to_s, topic: "orders") }

      third = Thread.new { producer.produce_async(value: "2", topic: "orders") }
      await_blocked_in_racecar(third) # waiting for space, neither failed nor returned

      # The first two time out after ~1-2 s, which frees the queue.
      expect(third.join(5)).to be(third)
      expect(third.value).to be_nil
    end

    it "can be interrupted while it waits for space" do
      producer = isolated_producer(unreachable_config(message_timeout: 30, producer: ["queue.buffering.max.messages=1"]))
      producer.produce_async(value: "0", topic: "orders")
      blocked = Thread.new { producer.produce_async(value: "1", topic: "orders") }
      blocked.report_on_exception = false
      await_blocked_in_racecar(blocked)

      started = monotonic
      blocked.raise(Interrupt)

      expect { blocked.join }.to raise_error(Interrupt)
      expect(monotonic - started).to be < 5 # not the 30 s message_timeout
    end
  end

  describe "#close" do
    it "gives up on undeliverable messages after its timeout and logs them as failed" do
      producer = isolated_producer(unreachable_config(message_timeout: 60), logger: captured_logger)
      producer.produce_async(value: "x", topic: "orders")
      started = monotonic

      producer.close(0.5)

      expect(monotonic - started).to be < 10 # not the 60 s message_timeout
      expect(log_output.string).to match(/Failed to deliver a message to orders.*purge_queue.*closed before the message was sent/)
    end

    it "lets the producer build a new handle on the next message" do
      producer = isolated_producer(unreachable_config(message_timeout: 1))
      producer.produce_async(value: "x", topic: "orders")
      producer.close(0.1)

      # A closed native handle would raise "the producer is closed".
      expect(producer.produce_async(value: "y", topic: "orders")).to be_nil
    end
  end
end
