# frozen_string_literal: true

require_relative "../support/producer_helpers"

# Consumer#produce and deliver!, alone and under the runner, against the real
# broker; what arrived is read back with kcat.
RSpec.describe "Consumer#produce", :kafka, :producer do
  let(:instrumenter) { null_instrumenter }

  # A consumer class named as a constant, subscribed to a fresh topic with a
  # fresh group. The block is the body of process / process_batch.
  def consumer_class(name, input, batch: false, &body)
    klass = Class.new(Racecar::Consumer) do
      subscribes_to input
      self.group_id = "producer-spec-#{SecureRandom.hex(4)}"
      define_method(batch ? :process_batch : :process, &body)
    end
    stub_const(name, klass)
  end

  it "only queues the message; deliver! returns once the broker has it, without waiting out linger.ms" do
    output = create_topic
    consumer = Class.new(Racecar::Consumer).new
    # A 10 s linger keeps the message in the local queue until deliver! waits
    # for it; the wait flushes the queue rather than lingering.
    with_racecar_config(spec_config(producer: ["linger.ms=10000"])) do
      started = monotonic
      consumer.produce("queued", topic: output, key: "k")
      queued_in = monotonic - started
      before_deliver = kcat_read(output)
      started = monotonic
      consumer.deliver!
      delivered_in = monotonic - started

      expect(queued_in).to be < 1
      expect(before_deliver).to be_empty
      expect(delivered_in).to be < 5
      expect(kcat_read(output).map { |m| [m.key, m.value] }).to eq([%w[k queued]])
    end
  end

  it "is delivered by the runner after each process call when batches hold one message" do
    input = create_topic
    output = create_topic
    produce_messages(input, %w[a b c])
    sequence = []
    instrumenter.subscribe(/\A(process_message|deliver_messages)\./) { |name, _payload, _d| sequence << name }
    consumer = consumer_class("UpcasingConsumer", input) do |message|
      produce(message.value.upcase, topic: output, key: message.value, headers: { "source" => message.topic })
    end.new
    config = spec_config(fetch_messages: 1, producer: ["linger.ms=100"])

    run_consumer(consumer, config: config, instrumenter: instrumenter) { sequence.size >= 6 }

    expect(sequence.first(6)).to eq(%w[process_message.racecar deliver_messages.racecar] * 3)
    received = kcat_read(output)
    expect(received.map { |m| [m.key, m.value] }).to eq([%w[a A], %w[b B], %w[c C]])
    expect(received.map(&:headers).uniq).to eq([[["source", input]]])
  end

  it "delivers what a polled batch produced before moving on, whatever the batch size" do
    input = create_topic
    output = create_topic
    produce_messages(input, (1..50).map(&:to_s))
    processed = 0
    delivered = 0
    order_ok = true
    instrumenter.subscribe(:process_message) { processed += 1 }
    instrumenter.subscribe(:deliver_messages) do |_name, payload, _d|
      delivered += payload[:delivered_message_count]
      order_ok &&= delivered == processed # everything processed so far is on the broker
    end
    consumer = consumer_class("TaggingConsumer", input) { |message| produce("#{message.value}!", topic: output) }.new

    run_consumer(consumer, config: spec_config, instrumenter: instrumenter) { delivered >= 50 }

    expect(order_ok).to be(true)
    expect(kcat_read(output).map(&:value)).to eq((1..50).map { |i| "#{i}!" })
  end

  it "is delivered by the runner after each process_batch call" do
    input = create_topic
    output = create_topic
    produce_messages(input, (1..20).map(&:to_s))
    consumer = consumer_class("DoublingBatchConsumer", input, batch: true) do |messages|
      messages.each { |m| produce((m.value.to_i * 2).to_s, topic: output) }
    end.new
    batches = []
    delivered = []
    instrumenter.subscribe(:process_batch) { |_name, payload, _d| batches << payload[:message_count] }
    instrumenter.subscribe(:deliver_messages) { |_name, payload, _d| delivered << payload[:delivered_message_count] }

    run_consumer(consumer, config: spec_config, instrumenter: instrumenter) { delivered.sum >= 20 }

    expect(delivered).to eq(batches)
    expect(kcat_read(output).map { |m| m.value.to_i }).to eq((1..20).map { |i| i * 2 })
  end

  it "counts a failed delivery as a failed call: paused, processed again, later messages unhindered" do
    input = create_topic
    output = create_topic
    produce_messages(input, %w[a b])
    attempts = []
    errors = []
    consumer = consumer_class("RetryingProducerConsumer", input) do |message|
      attempts << [message.value, message.retries_count, Process.clock_gettime(Process::CLOCK_MONOTONIC)]
      # The broker refuses the first attempt for "a" (too large for it).
      value = message.value == "a" && message.retries_count.zero? ? "x" * 2_000_000 : message.value.upcase
      produce(value, topic: output)
    end.new
    config = spec_config(fetch_messages: 1, pause_timeout: 0.5, producer: ["message.max.bytes=3000000"])
    infos = []
    config.on_error do |exception, info|
      errors << exception
      infos << info
    end

    run_consumer(consumer, config: config) { attempts.any? { |value, _r, _t| value == "b" } }

    expect(attempts.map { |value, retries, _t| [value, retries] }).to eq([["a", 0], ["a", 1], ["b", 0]])
    expect(attempts[1][2] - attempts[0][2]).to be >= 0.45 # the partition was paused for pause_timeout
    expect(errors.size).to eq(1)
    expect(errors[0]).to be_a(Racecar::MessageDeliveryError)
    expect([errors[0].code, errors[0].topic]).to eq([:msg_size_too_large, output])
    expect(infos[0]).to include(topic: input, partition: 0, offset: 0) # the message whose call failed
    expect(kcat_read(output).map(&:value)).to eq(%w[A B])
  end

  it "processes the whole batch again when its delivery failed" do
    input = create_topic
    output = create_topic
    produce_messages(input, %w[a b c])
    calls = []
    consumer = consumer_class("RefusedBatchConsumer", input, batch: true) do |messages|
      calls << messages.map { |m| [m.value, m.retries_count] }
      # Every first attempt produces something the broker refuses.
      messages.each { |m| produce(m.retries_count.zero? ? "x" * 2_000_000 : m.value, topic: output) }
    end.new
    config = spec_config(pause_timeout: 0.2, producer: ["message.max.bytes=3000000"])

    run_consumer(consumer, config: config) { calls.flatten(1).count { |_v, retries| retries.positive? } >= 3 }

    first = calls.fetch(0)
    expect(first.map(&:last).uniq).to eq([0])
    expect(calls.fetch(1)).to start_with([first[0][0], 1]) # the failed batch starts again
    expect(kcat_read(output).map(&:value)).to eq(%w[a b c])
  end

  it "keeps the offset of a message whose produced messages were not delivered" do
    input = create_topic
    output = create_topic
    produce_messages(input, %w[a b])
    failed = []
    refuse = true
    seen = []
    klass = consumer_class("RefusedProducerConsumer", input) do |message|
      seen << [message.offset, refuse]
      produce(refuse ? "x" * 2_000_000 : message.value, topic: output)
    end
    # A long pause: the first run stops while the partition waits.
    config = spec_config(pause_timeout: 30, producer: ["message.max.bytes=3000000"])
    config.on_error { |exception, _info| failed << exception }
    run_consumer(klass.new, config: config) { failed.any? }

    refuse = false
    run_consumer(klass.new, config: spec_config(producer: ["message.max.bytes=3000000"])) { seen.include?([1, false]) }

    # The next member of the group starts again at "a": its offset was never
    # stored although process returned normally.
    expect(seen.reject(&:last).first).to eq([0, false])
    expect(kcat_read(output).map(&:value)).to eq(%w[a b])
  end
end
