# frozen_string_literal: true

require_relative "../support/producer_helpers"

# producer_compression_codec and partitioner against the real broker. The
# codec is read from the broker's own log segment (the attributes of each
# record batch), the messages are read back with kcat.
RSpec.describe "Producer compression and partitioners", :kafka, :producer do
  # librdkafka codec name => the number Kafka stores in a batch's attributes
  codecs = { "gzip" => 1, "snappy" => 2, "lz4" => 3, "zstd" => 4 }

  # The data directory of the broker bin/kafka runs ($KAFKA_DIR/data).
  def broker_log_dir
    properties = KafkaHelpers::SERVER_PROPERTIES
    dir = File.exist?(properties) && File.read(properties)[/^log\.dirs=(.+)$/, 1]
    raise "these specs read the log segments of the broker started by bin/kafka (#{properties})" unless dir

    dir.strip
  end

  # Compression codec (attributes & 7) of every record batch in partition 0.
  def batch_codecs(topic)
    segment = File.binread(File.join(broker_log_dir, "#{topic}-0", "00000000000000000000.log"))
    found = []
    position = 0
    while position + 23 <= segment.bytesize
      batch_length = segment.byteslice(position + 8, 4).unpack1("N")
      attributes = segment.byteslice(position + 21, 2).unpack1("n")
      found << (attributes & 0x7)
      position += 12 + batch_length
    end
    [found, segment.bytesize]
  end

  let(:values) { (1..20).map { |i| ("racecar #{i} " * 200) + (0..255).map(&:chr).join.b } }

  codecs.each do |codec, number|
    it "round-trips messages compressed with #{codec}" do
      topic = create_topic
      producer = isolated_producer(spec_config(producer_compression_codec: codec))

      producer.wait_for_delivery { values.each { |value| producer.produce_async(value: value, topic: topic) } }

      expect(kcat_read(topic).map(&:value)).to eq(values)
      stored_codecs, stored = batch_codecs(topic)
      expect(stored_codecs).not_to be_empty
      expect(stored_codecs.uniq).to eq([number])
      expect(stored).to be < values.sum(&:bytesize) / 4
    end
  end

  it "stores messages uncompressed without a codec" do
    topic = create_topic
    producer = isolated_producer(spec_config)

    producer.wait_for_delivery { values.each { |value| producer.produce_async(value: value, topic: topic) } }

    stored_codecs, stored = batch_codecs(topic)
    expect(stored_codecs.uniq).to eq([0])
    expect(stored).to be > values.sum(&:bytesize)
  end

  describe "partitioner" do
    let(:keys) { (1..30).map { |i| "account-#{i}" } }

    # The partition each key went to: as a message key (librdkafka's own
    # choice) and as partition_key of a message with another key.
    def placements(partitioner)
      topic = create_topic(partitions: 5)
      producer = isolated_producer(spec_config(partitioner: partitioner))
      producer.wait_for_delivery do
        keys.each { |key| producer.produce_async(value: "reference", key: key, topic: topic) }
        keys.each { |key| producer.produce_async(value: "keyed", key: "other #{key}", partition_key: key, topic: topic) }
      end
      received = kcat_read(topic)
      reference = received.select { |m| m.value == "reference" }.to_h { |m| [m.key, m.partition] }
      keyed = received.select { |m| m.value == "keyed" }.to_h { |m| [m.key.delete_prefix("other "), m.partition] }
      [reference, keyed]
    end

    it "places a partition_key exactly where each partitioner places the same message key" do
      by_partitioner = %w[consistent consistent_random murmur2 murmur2_random fnv1a fnv1a_random].to_h do |partitioner|
        reference, keyed = placements(partitioner)

        expect(keyed).to eq(reference), "partitioner #{partitioner}"
        expect(reference.size).to eq(keys.size)
        [partitioner, reference]
      end

      # The setting reaches librdkafka: the hash families disagree on some keys.
      expect(by_partitioner.values_at("consistent", "murmur2", "fnv1a").uniq.size).to eq(3)
      expect(by_partitioner["consistent_random"]).to eq(by_partitioner["consistent"])
      expect(by_partitioner["murmur2_random"]).to eq(by_partitioner["murmur2"])
    end
  end
end
