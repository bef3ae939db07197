# frozen_string_literal: true

require_relative "../support/producer_helpers"

# The producer's events (*.racecar) as a subscriber sees them, against the
# real broker; offsets are checked against what kcat reads.
RSpec.describe "Producer instrumentation", :kafka, :producer do
  let(:instrumenter) { null_instrumenter }
  let(:events) { [] }

  def record(*names)
    names.each do |name|
      instrumenter.subscribe(name) { |event, payload, duration| events << [event, payload.dup, duration] }
    end
  end

  def payloads(name)
    events.select { |event, _p, _d| event == "#{name}.racecar" }.map { |_e, payload, _d| payload }
  end

  it "publishes produce_message for each Consumer#produce and deliver_messages for deliver!" do
    topic = create_topic
    record(:produce_message, :deliver_messages)
    producer = isolated_producer(spec_config(producer: ["linger.ms=3000"]), instrumenter: instrumenter)
    consumer = Class.new(Racecar::Consumer).new
    consumer.__racecar_attach(producer: producer, instrumenter: instrumenter)
    time = Time.at(1_650_000_000)
    ids = { client_id: "racecar", group_id: nil }

    produced_at = Time.now
    consumer.produce("one", topic: topic, key: "k1", headers: { "h" => "v" }, create_time: time)
    consumer.produce("two", topic: topic, partition: 0)
    started = monotonic
    consumer.deliver!
    deliver_took = monotonic - started

    # create_time: when produce was called (upstream's meaning); the message
    # itself carries the given timestamp.
    expect(payloads(:produce_message).map { |payload| payload.except(:create_time) }).to eq([
      { topic: topic, partition: nil, partition_key: nil, key: "k1", value: "one", headers: { "h" => "v" },
        message_size: 3, buffer_size: 0, **ids },
      { topic: topic, partition: 0, partition_key: nil, key: nil, value: "two", headers: nil, message_size: 3,
        buffer_size: 1, **ids },
    ])
    expect(payloads(:produce_message).map { |payload| payload[:create_time] }).to all(be >= produced_at)
    expect(payloads(:deliver_messages)).to eq([{ delivered_message_count: 2, **ids }])
    deliver_duration = events.find { |event, _p, _d| event == "deliver_messages.racecar" }[2]
    # Timed over the wait for the broker, not just the call: the event's
    # duration is most of what deliver! took.
    expect(deliver_duration).to be >= deliver_took * 0.5
    received = kcat_read(topic)
    expect(received.map(&:value)).to eq(%w[one two])
    expect(received.first.timestamp).to eq(1_650_000_000_000)
  end

  it "publishes produce_sync with the message, timed over the whole delivery" do
    topic = create_topic
    record(:produce_sync, :produce_message, :deliver_messages)
    producer = isolated_producer(spec_config, instrumenter: instrumenter)
    producer.produce_sync(value: "warm-up", topic: topic) # metadata fetched, connection up
    events.clear
    started = monotonic

    producer.produce_sync(value: "v", topic: topic, key: "k", partition: 0, headers: { "a" => "b" }, create_time: 5)
    took = monotonic - started

    expect(events.map(&:first)).to eq(["produce_sync.racecar"]) # not counted twice as produce_message
    _event, payload, duration = events.first
    expect(payload).to match(topic: topic, partition: 0, partition_key: nil, key: "k", value: "v", headers: { "a" => "b" },
                             create_time: 5, message_size: 1, buffer_size: kind_of(Integer), client_id: "racecar",
                             group_id: nil)
    expect(duration).to be >= took * 0.5 # the wait for the acknowledgement, not just the enqueueing
  end

  it "publishes produce_async, timed over the enqueueing only" do
    topic = create_topic
    record(:produce_async)
    producer = isolated_producer(spec_config(producer: ["linger.ms=3000"]), instrumenter: instrumenter)

    producer.wait_for_delivery { producer.produce_async(value: "v", topic: topic, key: "k") }

    _event, payload, duration = events.fetch(0)
    expect(payload).to match(topic: topic, partition: nil, partition_key: nil, key: "k", value: "v", headers: nil,
                             create_time: nil, message_size: 1, buffer_size: kind_of(Integer), client_id: "racecar",
                             group_id: nil)
    expect(duration).to be < 1 # not the 3 s linger that wait_for_delivery cuts short
  end

  # The C hot path skips instrumentation while the instrumenter's quiet
  # marker holds; a subscription must end that at once.
  it "publishes produce_async to a subscriber that arrived after messages were produced with nobody listening" do
    topic = create_topic
    producer = isolated_producer(spec_config, instrumenter: instrumenter)
    producer.wait_for_delivery { 3.times { |i| producer.produce_async(value: "quiet #{i}", topic: topic) } }
    expect(events).to be_empty

    record(:produce_async)
    producer.wait_for_delivery { producer.produce_async(value: "heard", topic: topic) }

    expect(payloads(:produce_async).map { |payload| payload[:value] }).to eq(["heard"])
    expect(kcat_read(topic).map(&:value)).to eq(["quiet 0", "quiet 1", "quiet 2", "heard"])
  end

  it "publishes acknowledged_message with the offset the broker gave each message" do
    topic = create_topic(partitions: 2)
    record(:acknowledged_message)
    producer = isolated_producer(spec_config, instrumenter: instrumenter)

    4.times { |i| producer.produce_sync(value: i.to_s, topic: topic, partition: i % 2) }

    acknowledged = payloads(:acknowledged_message).map { |p| [p[:topic], p[:partition], p[:offset]] }
    expect(acknowledged).to match_array(kcat_read(topic).map { |m| [topic, m.partition, m.offset] })
  end

  it "reports every acknowledgement of produce_async messages sent in bursts from several threads" do
    topic = create_topic(partitions: 2)
    acks = Queue.new
    instrumenter.subscribe(:acknowledged_message) { |_name, payload, _d| acks << payload[:offset] }
    producer = isolated_producer(spec_config, instrumenter: instrumenter)

    # Pauses between bursts let the reporter thread finish and start again.
    4.times.map do |t|
      Thread.new do
        10.times do |burst|
          25.times { |i| producer.produce_async(value: "#{t}-#{burst}-#{i}", topic: topic) }
          sleep(rand * 0.05)
        end
      end
    end.each(&:join)

    deadline = monotonic + 15
    sleep 0.05 until acks.size >= 1000 || monotonic > deadline
    expect(acks.size).to eq(1000)
    expect(kcat_read(topic, count: 1000).size).to eq(1000)
  end

  it "publishes produce_delivery_error and records the exception in produce_sync's payload" do
    topic = create_topic
    record(:produce_sync, :produce_delivery_error)
    producer = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]), instrumenter: instrumenter)

    expect { producer.produce_sync(value: "x" * 2_000_000, topic: topic) }.to raise_error(Racecar::MessageDeliveryError)

    failure = payloads(:produce_delivery_error).fetch(0)
    expect([failure[:topic], failure[:partition], failure[:exception].code]).to eq([topic, 0, :msg_size_too_large])
    sync = payloads(:produce_sync).fetch(0)
    expect(sync[:exception_object]).to be_a(Racecar::MessageDeliveryError)
  end

  it "records a failed deliver! in deliver_messages" do
    topic = create_topic
    record(:deliver_messages)
    producer = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]), instrumenter: instrumenter)
    consumer = Class.new(Racecar::Consumer).new
    consumer.__racecar_attach(producer: producer, instrumenter: instrumenter)

    consumer.produce("fine", topic: topic)
    consumer.produce("x" * 2_000_000, topic: topic)

    expect { consumer.deliver! }.to raise_error(Racecar::MessageDeliveryError)
    payload = payloads(:deliver_messages).fetch(0)
    expect(payload[:delivered_message_count]).to eq(1)
    expect(payload[:exception_object].code).to eq(:msg_size_too_large)
  end

  it "reaches ActiveSupport::Notifications subscribers" do
    require "active_support/notifications"
    topic = create_topic
    seen = []
    subscription = ActiveSupport::Notifications.subscribe("produce_sync.racecar") { |*args| seen << args.last }
    producer = isolated_producer(spec_config, instrumenter: Racecar::Instrumenter.new(backend: ActiveSupport::Notifications))

    producer.produce_sync(value: "v", topic: topic)

    expect(seen.map { |payload| payload[:topic] }).to eq([topic])
  ensure
    ActiveSupport::Notifications.unsubscribe(subscription) if subscription
  end
end
