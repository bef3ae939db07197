# frozen_string_literal: true

require_relative "../support/producer_helpers"

# Delivery failures against the real broker: each raises a
# MessageDeliveryError with librdkafka's code, the topic, the partition and a
# hint, and the producer keeps working afterwards.
RSpec.describe "Producer delivery errors", :kafka, :producer do
  let(:producer) { isolated_producer(spec_config) }

  it "rejects a partition the topic does not have, and nothing arrives" do
    topic = create_topic(partitions: 2)
    producer.produce_sync(value: "known", topic: topic, partition: 1) # the producer now knows the topic

    expect { producer.produce_sync(value: "lost", topic: topic, partition: 7) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:unknown_partition)
        expect(error.topic).to eq(topic)
        expect(error.partition).to eq(7)
        expect(error.message).to include("the partition does not exist for this topic")
      }
    expect(kcat_read(topic).map(&:value)).to eq(["known"])
  end

  it "fails a message to an unknown partition of a topic it has not seen yet on delivery" do
    topic = create_topic

    expect { producer.produce_sync(value: "lost", topic: topic, partition: 3) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:unknown_partition)
        expect([error.topic, error.partition]).to eq([topic, 3])
      }
  end

  it "rejects a message larger than the producer's message.max.bytes before sending it" do
    topic = create_topic

    expect { producer.produce_sync(value: "x" * 1_100_000, topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:msg_size_too_large)
        expect(error.topic).to eq(topic)
        expect(error.message).to include("larger than the broker or topic accepts (message.max.bytes)")
      }
  end

  # Once the handle exists produce_async goes to C without enqueue; its
  # refusals must read the same.
  it "rejects an async message larger than message.max.bytes at the call, worded like produce_sync" do
    topic = create_topic
    producer.produce_async(value: "builds the handle", topic: topic)

    expect { producer.produce_async(value: "x" * 1_100_000, topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect([error.code, error.topic]).to eq([:msg_size_too_large, topic])
        expect(error.message).to start_with("Could not produce a message to #{topic}")
        expect(error.message).to include("larger than the broker or topic accepts (message.max.bytes)")
      }
  end

  it "reports the broker refusing a message too large for it" do
    topic = create_topic
    # The client would send up to 3 MB; the broker takes about 1 MB.
    permissive = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]))

    expect { permissive.produce_sync(value: "x" * 2_000_000, topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:msg_size_too_large)
        expect([error.topic, error.partition]).to eq([topic, 0])
        expect(error.message).to start_with("Failed to deliver a message to #{topic}/0: Broker: Message size too large")
      }
    expect(kcat_read(topic)).to be_empty
  end

  it "names an unknown topic when the broker may not create it" do
    strict = isolated_producer(spec_config(producer: ["allow.auto.create.topics=false",
                                                      "topic.metadata.propagation.max.ms=100"]))
    topic = unique_name("missing")

    expect { strict.produce_sync(value: "x", topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:unknown_topic_or_part)
        expect(error.topic).to eq(topic)
        expect(error.message).to include("the topic or partition does not exist; create it first")
      }
  end

  it "names an unknown topic when a partition_key needs its partitions" do
    strict = isolated_producer(spec_config(socket_timeout: 1, producer: ["allow.auto.create.topics=false"]))
    topic = unique_name("missing")

    expect { strict.produce_sync(value: "x", partition_key: "k", topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:unknown_topic_or_part)
        expect(error.topic).to eq(topic)
        expect(error.message).to include("the topic or partition does not exist; create it first")
      }
  end

  it "delivers again after a message timed out" do
    # The topic does not exist yet and may not be auto-created, so the first
    # message waits for it until message_timeout ends it.
    waiting = isolated_producer(spec_config(message_timeout: 1, producer: ["allow.auto.create.topics=false",
                                                                          "topic.metadata.propagation.max.ms=60000"]))
    topic = unique_name("late")

    expect { waiting.produce_sync(value: "too early", topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:msg_timed_out)
        expect(error.message).to include("within message_timeout")
      }

    create_topic(topic)
    waiting.produce_sync(value: "in time", topic: topic)

    expect(kcat_read(topic).map(&:value)).to eq(["in time"])
  end

  it "does not let a failed message hold up the ones after it" do
    topic = create_topic
    permissive = isolated_producer(spec_config(producer: ["message.max.bytes=3000000"]))

    expect { permissive.produce_sync(value: "x" * 2_000_000, topic: topic) }.to raise_error(Racecar::MessageDeliveryError)
    started = monotonic
    permissive.produce_sync(value: "after", topic: topic)

    expect(monotonic - started).to be < 5
    expect(kcat_read(topic).map(&:value)).to eq(["after"])
  end
end
