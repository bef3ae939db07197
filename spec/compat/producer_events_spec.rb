# frozen_string_literal: true

require_relative "../support/consumer_helpers"
require_relative "../support/producer_helpers"

# The producer's ActiveSupport-style events carry at least upstream Racecar
# 2.12's payload keys (UPSTREAM-CONTRACT §6.1 and §5), with client_id and
# group_id as on every upstream event; seen against the real broker.
RSpec.describe "Producer event payloads of upstream Racecar 2.12", :kafka, :producer do
  let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
  let(:events) { Queue.new }

  def record(*names)
    names.each do |name|
      instrumenter.subscribe(name) { |event, payload, _duration| events << [event.delete_suffix(".racecar"), payload.dup] }
    end
  end

  def recorded(name)
    list = []
    list << events.pop until events.empty?
    list.each { |event| events << event }
    list.select { |event, _payload| event == name }.map(&:last)
  end

  def config_for(client_id, group_id = nil)
    config = spec_config(client_id: client_id)
    config.group_id = group_id if group_id
    config
  end

  it "publishes produce_sync and produce_async with value, topic, message_size, buffer_size, key, partition, " \
     "partition_key, client_id and group_id" do
    topic = create_topic(partitions: 2)
    record(:produce_sync, :produce_async)
    producer = isolated_producer(config_for("compat-producer", "web-group"), instrumenter: instrumenter)

    producer.produce_sync(value: "héllo", topic: topic, key: "k1", partition_key: "pk")
    producer.wait_for_delivery { producer.produce_async(value: nil, topic: topic, key: "k2", partition: 1) }

    sync = recorded("produce_sync").fetch(0)
    async = recorded("produce_async").fetch(0)
    expect(sync).to include(value: "héllo", topic: topic, message_size: 6, key: "k1", partition: nil,
                            partition_key: "pk", client_id: "compat-producer", group_id: "web-group")
    expect(async).to include(value: nil, topic: topic, message_size: 0, key: "k2", partition: 1, partition_key: nil,
                             client_id: "compat-producer", group_id: "web-group")
    expect([sync[:buffer_size], async[:buffer_size]]).to all(be_an(Integer))
  end

  it "publishes produce_message for Consumer#produce with upstream's keys, buffer_size counting the messages " \
     "produced before it, create_time when it was produced" do
    topic = create_topic
    record(:produce_message, :deliver_messages)
    producer = isolated_producer(config_for("compat-producer", "consumer-group"), instrumenter: instrumenter)
    consumer = Class.new(Racecar::Consumer).new
    consumer.__racecar_attach(producer: producer, instrumenter: instrumenter)
    before = Time.now

    consumer.produce("first", topic: topic, key: "a", headers: { "h" => "v" }, create_time: Time.at(1_600_000_000))
    consumer.produce("second", topic: topic, partition_key: "b")
    consumer.deliver!

    first, second = recorded("produce_message")
    expect(first).to include(value: "first", headers: { "h" => "v" }, key: "a", partition: nil, partition_key: nil,
                             topic: topic, message_size: 5, buffer_size: 0, client_id: "compat-producer",
                             group_id: "consumer-group")
    expect(second).to include(value: "second", partition_key: "b", message_size: 6, buffer_size: 1)
    expect([first[:create_time], second[:create_time]]).to all(be_a(Time).and(be_between(before, Time.now)))
    expect(recorded("deliver_messages")).to eq([{ delivered_message_count: 2, client_id: "compat-producer",
                                                  group_id: "consumer-group" }])
  end

  it "publishes acknowledged_message with offset and partition, produce_delivery_error with partition and " \
     "exception, both with client_id and group_id" do
    topic = create_topic(partitions: 2)
    record(:acknowledged_message, :produce_delivery_error)
    config = config_for("compat-producer", "acks")
    config.producer = ["message.max.bytes=3000000"]
    producer = isolated_producer(config, instrumenter: instrumenter)

    producer.produce_sync(value: "ok", topic: topic, partition: 1)
    expect { producer.produce_sync(value: "x" * 2_000_000, topic: topic, partition: 0) }
      .to raise_error(Racecar::MessageDeliveryError)

    expect(recorded("acknowledged_message")).to eq([{ topic: topic, partition: 1, offset: 0,
                                                      client_id: "compat-producer", group_id: "acks" }])
    failure = recorded("produce_delivery_error").fetch(0)
    expect(failure).to include(partition: 0, client_id: "compat-producer", group_id: "acks")
    expect(failure[:exception]).to be_a(Racecar::MessageDeliveryError)
  end

  it "gives a running consumer's produce_message and deliver_messages its client_id and group_id" do
    input = create_topic
    output = create_topic
    produce_messages(input, ["in"])
    klass = define_consumer do
      subscribes_to input
      define_method(:process) { |message| produce("out:#{message.value}", topic: output) }
    end
    record(:produce_message, :deliver_messages)
    start_consumer(klass.new, config: spec_config(client_id: "compat-consumer"), instrumenter: instrumenter)

    eventually(message: "deliver_messages") { recorded("deliver_messages").any? }

    ids = { client_id: "compat-consumer", group_id: klass.group_id }
    expect(recorded("produce_message").fetch(0)).to include(ids.merge(value: "out:in", topic: output, message_size: 6,
                                                                      buffer_size: 0))
    expect(recorded("deliver_messages").fetch(0)).to include(ids.merge(delivered_message_count: 1))
  end
end
