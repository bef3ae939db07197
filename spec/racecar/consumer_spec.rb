# frozen_string_literal: true

require_relative "../support/consumer_helpers"

RSpec.describe Racecar::Consumer do
  def consumer_class(&body)
    klass = Class.new(described_class)
    stub_const("DslSpecConsumer", klass)
    klass.class_eval(&body) if body
    klass
  end

  describe ".subscribes_to" do
    it "subscribes from the beginning, with 1 MiB per partition and no extra config, by default" do
      klass = consumer_class { subscribes_to "events" }
      expect(klass.subscriptions).to eq([described_class::Subscription.new("events", true, 1_048_576, {})])
    end

    it "records one subscription per topic, each with the options given" do
      klass = consumer_class do
        subscribes_to "a", :b, start_from_beginning: false, max_bytes_per_partition: 10_000,
                               additional_config: { "fetch.min.bytes" => 5 }
      end
      expect(klass.subscriptions.map(&:to_a)).to eq([
                                                      ["a", false, 10_000, { "fetch.min.bytes" => 5 }],
                                                      ["b", false, 10_000, { "fetch.min.bytes" => 5 }]
                                                    ])
    end

    it "may be called several times, keeping each call's options" do
      klass = consumer_class do
        subscribes_to "old"
        subscribes_to "new", start_from_beginning: false
      end
      expect(klass.subscriptions.map { |s| [s.topic, s.start_from_beginning] }).to eq([["old", true], ["new", false]])
    end

    it "refuses a call without topics" do
      expect { consumer_class { subscribes_to } }.to raise_error(ArgumentError, /at least one topic/)
    end

    it "keeps subscriptions per class" do
      first = consumer_class { subscribes_to "first" }
      other = Class.new(described_class) { subscribes_to "other" }
      expect([first.subscriptions.map(&:topic), other.subscriptions.map(&:topic)]).to eq([["first"], ["other"]])
    end
  end

  it "has class-level group_id, max_wait_time, fetch_messages and parallel_workers" do
    klass = consumer_class do
      self.group_id = "grp"
      self.max_wait_time = 0.5
      self.fetch_messages = 10
      self.parallel_workers = 3
    end
    expect([klass.group_id, klass.max_wait_time, klass.fetch_messages, klass.parallel_workers])
      .to eq(["grp", 0.5, 10, 3])
  end

  describe "rebalance hooks" do
    let(:event) { Racecar::RebalanceEvent.new(topic_partitions: { "t" => [0] }, consumer_class: nil, group_id: "g") }

    it "runs every hook registered with a block, in order, with the event" do
      calls = []
      klass = consumer_class do
        on_partitions_assigned { |e| calls << [:first, e] }
        on_partitions_assigned { |e| calls << [:second, e] }
      end
      klass.on_partitions_assigned(event)
      expect(calls).to eq([[:first, event], [:second, event]])
    end

    it "lets a class define the hook as a class method instead" do
      calls = []
      klass = consumer_class do
        define_singleton_method(:on_partitions_revoked) { |e| calls << e }
      end
      klass.on_partitions_revoked(event)
      expect(calls).to eq([event])
    end

    it "does nothing when no hook is registered" do
      expect(consumer_class.on_partitions_assigned(event)).to be_nil
    end
  end

  it "has a teardown that does nothing unless overridden" do
    expect(consumer_class.new.teardown).to be_nil
  end

  describe "#produce and #deliver!", :kafka do
    let(:config) { spec_config }
    let(:producer) { Racecar::Producer.new(config: config, logger: config.logger, instrumenter: quiet_instrumenter) }
    let(:consumer) do
      consumer_class.new.tap { |c| c.__racecar_attach(producer: producer, instrumenter: quiet_instrumenter) }
    end

    after { producer.close }

    it "enqueues messages that deliver! waits for, after which they are in the topic" do
      topic = create_topic
      consumer.produce("hello", topic: topic, key: "k", headers: { "h" => "v" })
      expect(consumer.pending_deliveries?).to be(true)
      consumer.deliver!
      expect(consumer.pending_deliveries?).to be(false)

      reader = Racecar::Native::Consumer.new({ "bootstrap.servers" => brokers, "group.id" => unique_name,
                                               "auto.offset.reset" => "earliest" })
      reader.subscribe([topic])
      received = []
      eventually(message: "the produced message", watch: []) do
        received.concat(reader.poll_batch(10, 200))
        received.any?
      end
      reader.close
      expect([received.first.value, received.first.key, received.first.headers]).to eq(["hello", "k", { "h" => "v" }])
    end

    it "makes deliver! a no-op when nothing was produced" do
      expect(consumer.deliver!).to be_nil
    end
  end
end
