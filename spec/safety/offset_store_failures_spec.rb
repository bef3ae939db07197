# frozen_string_literal: true

# librdkafka refuses to store an offset for a partition this member does not
# have assigned (ERR__STATE since 1.9; an unknown partition otherwise). racecar
# commits from its own record of stored offsets, so that record must advance
# only where librdkafka stored: otherwise a later commit would send an offset
# for a partition whose new owner may be elsewhere by then.
RSpec.describe "Storing offsets librdkafka refuses", :kafka do
  let(:group) { unique_name("store-refused") }
  let(:consumer) do
    Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => group,
                                  "auto.offset.reset" => "earliest")
  end

  after { consumer.close }

  def committed(topic)
    reader = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => group)
    reader.committed({ topic => [0] }, 10).fetch(topic)
  ensure
    reader&.close
  end

  it "raises for a partition that is not assigned, and no commit carries that offset" do
    assigned = create_topic
    elsewhere = create_topic
    produce_messages(assigned, %w[a b])
    consumer.subscribe([assigned])
    received = []
    received.concat(consumer.poll_batch(10, 500)) while received.size < 2

    expect { consumer.store_offset(elsewhere, 0, 5) }.to raise_error(Racecar::KafkaError, /storing the offset failed/)
    consumer.store_offset(assigned, 0, 2)
    consumer.commit

    expect(committed(assigned)).to eq(0 => 2)
    expect(committed(elsewhere)).to eq(0 => nil)
  end
end
