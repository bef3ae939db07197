# frozen_string_literal: true

require "stringio"
require_relative "../support/consumer_helpers"

# Upstream Racecar 2.12's consumer DSL (UPSTREAM-CONTRACT §3): rebalance hooks as class
# methods receiving an event with topic_name, partition_numbers and empty?,
# process_batch winning over process, the deprecated heartbeat.
RSpec.describe "Upstream consumer DSL and rebalance hooks", :kafka do
  it "hands class-level hooks an event with topic_name, partition_numbers and empty?, on a real assignment" do
    topic = create_topic(partitions: 3)
    seen = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| nil }
    end
    # Written exactly as a 2.12 application writes them: plain class methods.
    klass.define_singleton_method(:on_partitions_assigned) do |event|
      seen << [:assigned, event.topic_name, event.partition_numbers, event.empty?]
    end
    klass.define_singleton_method(:on_partitions_revoked) do |event|
      seen << [:revoked, event.topic_name, event.partition_numbers, event.empty?]
    end
    running = start_consumer(klass.new)
    eventually(message: "the assignment hook") { seen.any? }
    running.stop

    expect(running.error).to be_nil
    expect(seen).to eq([[:assigned, topic, [0, 1, 2], false], [:revoked, topic, [0, 1, 2], false]])
  end

  it "logs a hook that raises and keeps consuming, as upstream's rebalance listener does" do
    topic = create_topic
    produce_messages(topic, %w[a])
    processed = Queue.new
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.value }
    end
    klass.define_singleton_method(:on_partitions_assigned) { |event| event.no_such_method_in_a_hook }
    log = StringIO.new
    config = spec_config
    config.logger = Logger.new(log)
    running = start_consumer(klass.new, config: config)
    expect(Timeout.timeout(30) { processed.pop }).to eq("a")
    expect(running.alive?).to be(true)
    expect(log.string).to include("on_partitions_assigned raised NoMethodError")
  end

  it "calls process_batch when a consumer defines process too, as upstream does" do
    topic = create_topic
    produce_messages(topic, %w[a b])
    batches = Queue.new
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| raise "process must not be called" }
      define_method(:process_batch) { |messages| batches << messages.map(&:value) }
    end
    start_consumer(klass.new)
    expect(Timeout.timeout(30) { batches.pop }).to eq(%w[a b])
  end

  it "keeps upstream's deprecated heartbeat (a warning) and legacy producer / consumer class accessors" do
    klass = define_consumer do
      define_method(:beat) { heartbeat }
    end
    expect { klass.new.beat }.to output(/DEPRECATION WARNING: Manual heartbeats are not supported/).to_stderr
    expect(klass.protected_method_defined?(:heartbeat)).to be(true)
    klass.producer = :legacy
    klass.consumer = :legacy
    expect([klass.producer, klass.consumer]).to eq(%i[legacy legacy])
  end

  it "keeps racecar's own event methods next to upstream's" do
    event = Racecar::RebalanceEvent.new(topic_partitions: { "orders" => [2, 0], "refunds" => [1] },
                                        consumer_class: nil, group_id: "g")
    expect([event.topic_name, event.partition_numbers, event.empty?]).to eq(["orders", [0, 2], false])
    expect([event.topics, event.partitions("refunds"), event.lost?]).to eq([%w[orders refunds], [1], false])
  end

  it "answers nil and no partitions for an empty rebalance" do
    event = Racecar::RebalanceEvent.new(topic_partitions: {}, consumer_class: nil, group_id: "g")
    expect([event.topic_name, event.partition_numbers, event.empty?]).to eq([nil, [], true])
  end
end
