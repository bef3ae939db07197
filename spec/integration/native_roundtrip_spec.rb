# frozen_string_literal: true

# The thinnest slice through the whole stack: our native producer writes to the
# real broker, our native consumer reads it back, every field survives.
RSpec.describe "Native producer and consumer round trip", :kafka do
  let(:topic) { create_topic(partitions: 3) }
  let(:invalid_utf8) { "\xFF\xFEnot utf-8 \xC3\x28".b }

  def message_for(i)
    {
      key: i % 7 == 0 ? nil : "key-#{i}",
      value: case i % 5
             when 0 then nil
             when 1 then invalid_utf8 + i.to_s
             when 2 then (0..255).map(&:chr).join.b
             else "value-#{i}"
             end,
      partition: i % 3,
      headers: i.even? ? { "index" => i.to_s, "binary" => "\x00\x01\xFF".b, "empty" => "" } : nil,
      create_time: 1_700_000_000_000 + i,
    }
  end

  def consume_all(count)
    consumer = Racecar::Native::Consumer.new(
      "bootstrap.servers" => brokers, "group.id" => unique_name("roundtrip"), "auto.offset.reset" => "earliest",
    )
    consumer.subscribe([topic])
    received = []
    deadline = Time.now + 60
    received.concat(consumer.poll_batch(500, 200)) while received.size < count && Time.now < deadline
    received
  ensure
    consumer&.close
  end

  it "brings back 1,000 messages with keys, binary values, nil values and headers, in order per partition" do
    sent = (0...1000).map { |i| message_for(i) }
    produce_messages(topic, sent)

    received = consume_all(1000)

    expect(received.size).to eq(1000)
    received.group_by(&:partition).each do |partition, messages|
      expected = sent.select { |m| m[:partition] == partition }
      expect(messages.map(&:offset)).to eq((0...expected.size).to_a)
      messages.zip(expected).each do |got, want|
        expect(got.topic).to eq(topic)
        expect(got.key).to eq(want[:key])
        expect(got.value).to eq(want[:value])
        expect(got.value.encoding).to eq(Encoding::BINARY) unless want[:value].nil?
        expect(got.headers).to eq(want[:headers] || {})
        expect(got.headers).to be_frozen
        expect((got.create_time.to_r * 1000).to_i).to eq(want[:create_time])
        expect(got.retries_count).to eq(0)
      end
    end
  end
end
