# frozen_string_literal: true

# Wrong arguments to the native objects: each call raises an ordinary Ruby
# error and leaves the object usable. Under bin/memcheck these examples also
# prove that nothing the call had allocated before it raised is leaked.
RSpec.describe "Native methods given bad arguments", :kafka do
  let(:nul_name) { "topic\0with-nul" }
  let(:consumer) do
    Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("bad-args"))
  end

  after { consumer.close }

  it "refuses topic names with a NUL byte in subscribe, and still subscribes afterwards" do
    expect { consumer.subscribe(["fine", nul_name]) }.to raise_error(ArgumentError, /null byte/)
    expect { consumer.subscribe([Object.new.tap { |o| def o.to_s = raise(IOError, "no name") }]) }
      .to raise_error(IOError, "no name")

    expect(consumer.subscribe([create_topic])).to be(consumer)
  end

  it "refuses a partition or offset that is not an Integer in store_offset" do
    expect { consumer.store_offset("t", "zero", 1) }.to raise_error(TypeError)
    expect { consumer.store_offset("t", 0, "one") }.to raise_error(TypeError)
  end

  it "refuses partitions that are not Integers in committed" do
    expect { consumer.committed({ "t" => [0, "one"] }, 1) }.to raise_error(TypeError)
    expect { consumer.committed({ nul_name => [0] }, 1) }.to raise_error(ArgumentError, /null byte/)
  end

  it "refuses a topic name with a NUL byte in Admin.delete_topics and create_topics" do
    properties = { "bootstrap.servers" => brokers }

    expect { Racecar::Native::Admin.delete_topics(properties, ["fine", nul_name], 5) }
      .to raise_error(ArgumentError, /null byte/)
    expect { Racecar::Native::Admin.create_topics(properties, [["fine", 1], [nul_name, 1]], 5) }
      .to raise_error(ArgumentError, /null byte/)
  end

  it "refuses a partition count that is not an Integer in Producer#partition_for" do
    producer = Racecar::Native::Producer.new("bootstrap.servers" => brokers)

    expect { producer.partition_for("t", "key", "three", "consistent") }.to raise_error(TypeError)
    expect(producer.partition_for("t", "key", 3, "consistent")).to be_between(0, 2)
  ensure
    producer&.close(1)
  end

  it "refuses headers whose names cannot become Strings in Producer#produce, queueing nothing" do
    producer = Racecar::Native::Producer.new("bootstrap.servers" => brokers)
    tracker = Racecar::Native::DeliveryTracker.new
    bad_key = Object.new.tap { |o| def o.to_s = raise(IOError, "no name") }

    expect { producer.produce("t", "v", nil, nil, { "a" => "1", bad_key => "2" }, nil, tracker) }
      .to raise_error(IOError, "no name")
    expect(tracker.pending).to eq(0)
  ensure
    producer&.close(1)
  end
end
