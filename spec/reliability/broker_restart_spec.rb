# frozen_string_literal: true

require "open3"
require_relative "../support/reliability"

# Restarts the broker that bin/kafka runs for this environment (KAFKA_DIR,
# KAFKA_PORT, ...): in CI the suite's only broker, which is why the example
# waits for it to answer again before it ends.
RSpec.describe "the broker restarted under a running consumer and producer", :kafka, :reliability do
  let(:partitions) { 3 }
  let(:message_timeout) { 10 }
  let(:kafka) { File.join(ReliabilityHelpers::ROOT, "bin", "kafka") }

  def restart_broker
    out, status = Open3.capture2e(kafka, "restart")
    raise "bin/kafka restart failed:\n#{out}" unless status.success?

    out
  end

  it "loses nothing, and produce_sync during the outage succeeds or raises within message_timeout" do
    out, status = Open3.capture2e(kafka, "status")
    raise "this scenario restarts the broker through bin/kafka, which does not run it:\n#{out}" unless status.success?

    topic = create_topic(unique_name("reliability-restart"), partitions: partitions)
    consumer = start_consumer_process(reliability_env(topic: topic, group: unique_name("reliability-restart")))
    config = spec_config(message_timeout: message_timeout)
    producer = Racecar::Producer.new(config: config, logger: config.logger,
                                     instrumenter: Racecar::Instrumenter.new(backend: nil))
    stream = ReliabilityHelpers::SyncStream.new(producer: producer, topic: topic, partitions: partitions,
                                                interval: 0.01).start
    wait_for("the consumer to process", timeout: 60) { consumer.records >= 50 }

    restarts = scaled(1, 3).times.map do
      sleep(scaled(2, 8))
      started = ReliabilityHelpers.now
      restart_broker
      [started, ReliabilityHelpers.now]
    end
    # Both must come back on their own: more numbers acknowledged and
    # processed after the last restart.
    sent = recover_then_drain(stream, producer, consumer)

    book = ledger
    outages = restarts.map { |started, finished| finished - started }
    # From the broker answering again to the consumer's next processed message.
    recoveries = restarts.map { |_, finished| book.records.find { |r| r.at > finished }.at - finished }
    report(book.summary("broker restart x#{restarts.size}", sent,
                        restart_seconds: outages.map { |s| s.round(1) }.join("+"),
                        consumer_back_after: recoveries.map { |s| s.round(1) }.join("+"),
                        produce_sync_failures: stream.failures.size,
                        longest_produce_sync: format("%.2fs", stream.longest_call)))
    stream.failures.each do |failure, seconds|
      report("  produce_sync raised after #{seconds.round(2)}s: #{failure.message}")
    end
    expect(book.lost(sent)).to be_empty
    expect(book.pids).to eq([consumer.pid])
    expect(book.order_violations).to be_empty
    # Redone: only what was processed after the last commit that reached the
    # broker before it went away (commit interval 1 s), until the group took
    # the consumer back.
    expect(book.redone_outside(restarts.map { |started, finished| (started - 3)..(finished + 30) })).to eq(0)
    # librdkafka checks message timeouts once a second. (It checks those of a
    # partition whose broker is down only when it next tries to reconnect:
    # with librdkafka's default reconnect.backoff.max.ms of 10 s that can be
    # seconds after message_timeout.)
    expect(stream.longest_call).to be <= message_timeout + 2.0
    expect(stream.failures.map(&:first)).to all(be_a(Racecar::MessageDeliveryError))
  end
end
