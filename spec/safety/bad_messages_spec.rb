# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# Awkward messages through the public API (produce_sync) and a running
# consumer (process): each arrives byte for byte, none is skipped, and what
# cannot be produced is refused at produce time with a clear error.
# (Binary values, nil values and binary/empty/nil header values through the
# raw native objects: spec/integration/native_roundtrip_spec.rb and
# producer_sync_spec.rb; oversized messages: producer_errors_spec.rb.)
RSpec.describe "Awkward messages", :kafka do
  include ConsumerHelpers

  after { stop_started_consumers }

  let(:producer) do
    Racecar::Producer.new(config: spec_config, logger: Logger.new(File::NULL),
                          instrumenter: Racecar::Instrumenter.new(backend: nil))
  end

  after { producer.close }

  # Consumes `count` messages of the topic with a running consumer and
  # returns [key, value, headers] of each, in offset order.
  def consume(topic, count, max_bytes_per_partition: 1_048_576)
    seen = []
    klass = define_consumer do
      subscribes_to topic, max_bytes_per_partition: max_bytes_per_partition
      define_method(:process) { |message| seen << [message.offset, message.key, message.value, message.headers] }
    end
    start_consumer(klass.new)
    eventually(timeout: 30, message: "#{count} messages") { seen.size >= count }
    seen.sort_by(&:first).map { |_offset, *rest| rest }
  end

  it "keeps nil and empty values and keys apart, and turns other objects into Strings" do
    topic = create_topic
    sent = [[nil, nil], ["", ""], [nil, ""], ["", nil], [:symbol_key, 42]]
    sent.each { |key, value| producer.produce_sync(value: value, key: key, topic: topic) }

    expect(consume(topic, sent.size).map { |key, value, _headers| [key, value] })
      .to eq([[nil, nil], ["", ""], [nil, ""], ["", nil], ["symbol_key", "42"]])
  end

  it "delivers keys, values and header names that are not valid UTF-8 byte for byte" do
    topic = create_topic
    bad = "\xC3\x28\xFF".b
    producer.produce_sync(value: bad * 3, key: bad, headers: { bad => bad, "ok" => "" }, topic: topic)

    key, value, headers = consume(topic, 1).first
    expect([key, value]).to eq([bad, bad * 3])
    expect(headers.keys.map(&:b)).to eq([bad, "ok"])
    expect(headers.values).to eq([bad, ""])
  end

  it "delivers a message of nearly 1 MB whole, even with a far smaller max_bytes_per_partition" do
    topic = create_topic
    big = Random.new(42).bytes(999_000)
    producer.produce_sync(value: big, topic: topic)
    producer.produce_sync(value: "after", topic: topic)

    values = consume(topic, 2, max_bytes_per_partition: 1024).map { |row| row[1] }
    expect(values.map(&:bytesize)).to eq([999_000, 5])
    expect(values.first).to eq(big)
  end

  it "delivers 1,000 headers in one message" do
    topic = create_topic
    headers = (0...1000).to_h { |i| ["h#{i}", "v#{i}"] }
    producer.produce_sync(value: "many headers", headers: headers, topic: topic)

    expect(consume(topic, 1).first.last).to eq(headers)
  end

  it "refuses headers that are not a Hash when producing, and sends nothing" do
    topic = create_topic

    expect { producer.produce_sync(value: "x", headers: [%w[a b]], topic: topic) }
      .to raise_error(TypeError, /Array.*Hash/)
    producer.produce_sync(value: "only this", topic: topic)
    expect(consume(topic, 1).map { |row| row[1] }).to eq(["only this"])
  end
end
