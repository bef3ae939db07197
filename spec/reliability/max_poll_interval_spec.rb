# frozen_string_literal: true

require "fileutils"
require_relative "../support/reliability"

RSpec.describe "a consumer blocked for longer than max_poll_interval", :kafka, :reliability do
  let(:partitions) { 4 }
  let(:max_poll_interval) { 8 }

  it "loses its partitions to the group, gets some back when it returns, and nothing is lost" do
    topic = create_topic(unique_name("reliability-poll"), partitions: partitions)
    env = reliability_env(topic: topic, group: unique_name("reliability-poll"), delay: 0.001,
                          max_poll_interval: max_poll_interval, session_timeout: 6)
    count = scaled(6_000, 20_000)
    stream = ReliabilityHelpers::NumberedStream.new(brokers: brokers, topic: topic, partitions: partitions,
                                                    rate: scaled(200, 400)).start(count)
    blocked = start_consumer_process(env)
    other = start_consumer_process(env)
    wait_for("both to consume", timeout: 60) do
      pids = ledger.records.last(200).map(&:pid).uniq
      pids.include?(blocked.pid) && pids.include?(other.pid)
    end
    sleep(1)

    FileUtils.touch(control_file("block-#{blocked.pid}"))
    wait_for("the consumer to block", timeout: 30) { File.exist?(control_file("block-#{blocked.pid}.started")) }
    blocked_at = ReliabilityHelpers.now
    owned = ledger.records.select { |r| r.pid == blocked.pid && r.at > blocked_at - 3 }.map(&:partition).uniq
    # The group gives the blocked member's partitions to the other one.
    wait_for("the other member to take over", timeout: max_poll_interval + 20) do
      taken = ledger.records.select { |r| r.pid == other.pid && r.at > blocked_at }.map(&:partition).uniq
      (owned - taken).empty?
    end
    sleep(2)
    FileUtils.rm_f(control_file("block-#{blocked.pid}"))
    returned_at = ReliabilityHelpers.now
    # Back in the group after the stale batch it was in the middle of.
    wait_for("the blocked consumer to rejoin and consume", timeout: 60) do
      output = blocked.output
      output.scan(/Assigned partitions: #{topic}\//).size >= 2 &&
        ledger.records.count { |r| r.pid == blocked.pid && r.at > returned_at } > 100
    end
    stream.finish
    sent = (0...stream.sent).to_a
    wait_until_processed(sent)
    expect([blocked, other].map(&:terminate)).to all(be_success)

    book = ledger
    report(book.summary("max_poll_interval exceeded", sent, blocked_seconds: (returned_at - blocked_at).round(1),
                                                            partitions_taken_over: owned.size))
    expect(returned_at - blocked_at).to be > max_poll_interval
    expect(owned).not_to be_empty
    expect(blocked.output).to match(/Lost partitions: #{topic}\//)
    expect(book.lost(sent)).to be_empty
    expect(book.order_violations).to be_empty
    # Redone: what the blocked member processed since its last commit before
    # blocking, the message it was blocked in, and, only when the group moved
    # on before librdkafka noticed the overrun itself, the rest of its batch
    # (once librdkafka reports the assignment lost, the runner drops it).
    expect(book.redone_outside([(blocked_at - 3)..(returned_at + 5)])).to eq(0)
  end
end
