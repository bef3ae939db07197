# frozen_string_literal: true

require "logger"
require_relative "../support/reliability"

# Faults a real single broker cannot produce on demand, injected through
# librdkafka's mock cluster (three brokers inside this process): failing
# requests, the group coordinator moving, brokers going down while they lead
# partitions or coordinate the group. A racecar process consumes from the
# mock brokers over TCP while this process produce_syncs to them.
RSpec.describe "a consumer and a producer against a misbehaving cluster", :reliability do
  let(:partitions) { 4 }
  let(:message_timeout) { 10 }
  let(:topic) { "reliability-mock-#{SecureRandom.hex(4)}" }
  let(:group) { "reliability-mock-#{SecureRandom.hex(4)}" }

  around do |example|
    @cluster = Racecar::Native::MockCluster.new(3)
    example.run
  ensure
    @cluster.close
  end

  def leader_of(partition)
    (partition % 3) + 1
  end

  def step(name)
    steps << [name, ReliabilityHelpers.now]
    yield
    sleep(scaled(2, 5))
  end

  def steps
    @steps ||= []
  end

  it "recovers from request errors, coordinator moves and brokers going down, losing nothing" do
    cluster = @cluster
    kafka = ReliabilityHelpers::KafkaProtocol
    cluster.create_topic(topic, partitions, 3)
    partitions.times { |p| cluster.partition_leader(topic, p, leader_of(p)) }
    cluster.coordinator("group", group, 1)
    consumer = start_consumer_process(reliability_env(topic: topic, group: group, brokers: cluster.bootstrap_servers))
    config = Racecar::Config.new(env: {})
    config.brokers = cluster.bootstrap_servers.split(",")
    config.message_timeout = message_timeout
    config.logger = Logger.new(File::NULL)
    producer = Racecar::Producer.new(config: config, logger: config.logger,
                                     instrumenter: Racecar::Instrumenter.new(backend: nil))
    stream = ReliabilityHelpers::SyncStream.new(producer: producer, topic: topic, partitions: partitions,
                                                interval: 0.01).start
    wait_for("the consumer to process", timeout: 60) { consumer.records >= 50 }

    step("offset commits failing") do
      cluster.push_request_errors(kafka::OFFSET_COMMIT,
                                  [kafka::NOT_COORDINATOR, kafka::COORDINATOR_NOT_AVAILABLE, kafka::REQUEST_TIMED_OUT])
    end
    step("coordinator moved") do
      cluster.coordinator("group", group, 2)
      cluster.push_request_errors(kafka::HEARTBEAT, [kafka::NOT_COORDINATOR])
    end
    step("fetch and produce failing") do
      cluster.push_request_errors(kafka::FETCH, [kafka::NOT_LEADER_OR_FOLLOWER] * 3)
      cluster.push_request_errors(kafka::PRODUCE, [kafka::NOT_LEADER_OR_FOLLOWER, kafka::REQUEST_TIMED_OUT])
    end
    step("leader of partition 2 down, leadership moved") do
      cluster.broker_down(leader_of(2))
      sleep(2)
      cluster.partition_leader(topic, 2, 1)
    end
    cluster.broker_up(3)
    step("coordinator down, coordinator and leadership moved") do
      cluster.broker_down(2)
      sleep(2)
      cluster.coordinator("group", group, 3)
      cluster.partition_leader(topic, 1, 3)
    end
    cluster.broker_up(2)
    sent = recover_then_drain(stream, producer, consumer)

    book = ledger
    report(book.summary("mock cluster faults", sent, faults: steps.size, produce_sync_failures: stream.failures.size,
                                                     longest_produce_sync: format("%.2fs", stream.longest_call)))
    # The faults reached the clients.
    expect(consumer.output).to include("offset commit failed").and include("GroupCoordinator")
      .and include("Connection refused")
    expect(stream.longest_call).to be > 1.0
    expect(book.lost(sent)).to be_empty
    expect(book.pids).to eq([consumer.pid])
    expect(book.order_violations).to be_empty
    expect(book.redone_outside(steps.map { |_, at| (at - 3)..(at + 20) })).to eq(0)
    expect(stream.longest_call).to be <= message_timeout + 2.0
    expect(stream.failures.map(&:first)).to all(be_a(Racecar::MessageDeliveryError))
  end
end
