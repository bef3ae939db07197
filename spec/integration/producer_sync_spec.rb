# frozen_string_literal: true

require_relative "../support/producer_helpers"

# Racecar.produce_sync against the real broker; what arrived is read back
# with kcat, never taken from the producer's own bookkeeping.
RSpec.describe "Racecar.produce_sync", :kafka, :producer do
  let(:config) { spec_config }
  let(:producer) { isolated_producer(config) }

  it "returns only after the broker acknowledged the message, without waiting out linger.ms" do
    topic = create_topic
    # A 10 s linger keeps an untracked message in the local queue: kcat finds
    # nothing of it. produce_sync then flushes the queue instead of lingering,
    # and returns once the broker has both.
    lingering = isolated_producer(spec_config(producer: ["linger.ms=10000"]))
    lingering.produce_async(value: "lingering", topic: topic)
    before_sync = kcat_read(topic)
    started = monotonic

    lingering.produce_sync(value: "acknowledged", topic: topic)
    took = monotonic - started

    expect(before_sync).to be_empty
    expect(kcat_read(topic).map(&:value)).to eq(%w[lingering acknowledged])
    expect(took).to be < 5 # not the 10 s linger
  end

  it "works through the Racecar module with the process-wide producer" do
    topic = create_topic

    with_racecar_config(config) do
      Racecar.produce_sync(value: "via module", topic: topic, key: "k")
    end

    expect(kcat_read(topic).map { |m| [m.key, m.value] }).to eq([["k", "via module"]])
  end

  it "delivers binary keys and values byte for byte, and nil as a tombstone" do
    topic = create_topic
    binary = (0..255).map(&:chr).join.b

    producer.produce_sync(value: binary, key: "\x00key\xff".b, topic: topic)
    producer.produce_sync(value: nil, key: "gone", topic: topic)

    first, second = kcat_read(topic)
    expect([first.key, first.value]).to eq(["\x00key\xff".b, binary])
    expect([second.key, second.value]).to eq(["gone", nil])
  end

  it "delivers headers in order, with binary, empty and nil values" do
    topic = create_topic

    producer.produce_sync(value: "v", topic: topic,
                          headers: { "bin" => "\x00\xfe\xff".b, "empty" => "", "none" => nil, sym: 42 })

    expect(kcat_read(topic).first.headers).to eq([["bin", "\x00\xfe\xff".b], ["empty", ""], ["none", nil], ["sym", "42"]])
  end

  it "sends a message without headers when given an empty Hash" do
    topic = create_topic

    producer.produce_sync(value: "v", topic: topic, headers: {})

    expect(kcat_read(topic).first.headers).to eq([])
  end

  it "writes to the explicit partition" do
    topic = create_topic(partitions: 4)

    producer.produce_sync(value: "to 2", topic: topic, partition: 2)
    producer.produce_sync(value: "to 3", topic: topic, partition: 3)

    expect(kcat_read(topic).map { |m| [m.partition, m.value] }).to contain_exactly([2, "to 2"], [3, "to 3"])
  end

  it "sets the create time from a Time or from milliseconds since the epoch" do
    topic = create_topic

    producer.produce_sync(value: "time", topic: topic, create_time: Time.at(1_600_000_000, 123, :millisecond))
    producer.produce_sync(value: "ms", topic: topic, create_time: 1_500_000_000_456)

    expect(kcat_read(topic).map(&:timestamp)).to eq([1_600_000_000_123, 1_500_000_000_456])
  end

  describe "partition_key" do
    let(:keys) { (1..24).map { |i| "customer-#{i}" } }

    it "puts a message where librdkafka's partitioner would put a message with that key" do
      topic = create_topic(partitions: 6)
      # Reference: the keys as real message keys, placed by librdkafka itself.
      keys.each { |key| producer.produce_sync(value: "reference", key: key, topic: topic) }
      # Under test: another key for the message, the customer as partition_key.
      keys.each { |key| producer.produce_sync(value: "keyed", key: "unrelated #{key}", partition_key: key, topic: topic) }

      received = kcat_read(topic)
      reference = received.select { |m| m.value == "reference" }.to_h { |m| [m.key, m.partition] }
      keyed = received.select { |m| m.value == "keyed" }.to_h { |m| [m.key.delete_prefix("unrelated "), m.partition] }

      expect(keyed).to eq(reference)
      expect(reference.values.uniq.size).to be > 1 # the keys really spread out
    end

    it "works for a topic the broker creates on first use" do
      topic = unique_name("auto")
      KafkaHelpers.created_topics << topic # deleted after the examples like the others

      producer.produce_sync(value: "first", partition_key: "customer-1", topic: topic)

      expect(kcat_read(topic).map { |m| [m.partition, m.value] }).to eq([[0, "first"]])
    end

    it "is ignored when an explicit partition is given" do
      topic = create_topic(partitions: 6)

      keys.first(6).each { |key| producer.produce_sync(value: key, partition_key: key, partition: 4, topic: topic) }

      expect(kcat_read(topic).map(&:partition).uniq).to eq([4])
    end
  end

  it "serves many threads at once, each message arriving exactly once" do
    topic = create_topic(partitions: 3)

    threads = 8.times.map do |t|
      Thread.new { 25.times { |i| producer.produce_sync(value: "#{t}-#{i}", topic: topic) } }
    end
    threads.each(&:join)

    values = kcat_read(topic, count: 200).map(&:value)
    expect(values).to match_array(8.times.flat_map { |t| 25.times.map { |i| "#{t}-#{i}" } })
  end

  it "lets another thread's produce_sync finish while one waits on a slow path" do
    topic = create_topic
    # A topic that does not exist and may not be created: the first message
    # waits for metadata until message_timeout (6 s) ends it.
    waiting_config = spec_config(message_timeout: 6,
                                 producer: ["allow.auto.create.topics=false", "topic.metadata.propagation.max.ms=60000"])
    shared = isolated_producer(waiting_config)
    slow = Thread.new do
      shared.produce_sync(value: "never", topic: unique_name("missing"))
    rescue Racecar::MessageDeliveryError => e
      e.code
    end
    await_blocked_in_racecar(slow)

    started = monotonic
    10.times { |i| shared.produce_sync(value: i.to_s, topic: topic) }
    fast = monotonic - started

    expect(slow).to be_alive # still waiting while the other thread finished
    expect(fast).to be < 3 # not behind the other thread's 6 s wait
    expect(slow.value).to eq(:msg_timed_out)
    expect(kcat_read(topic).map(&:value)).to eq((0..9).map(&:to_s))
  end
end
