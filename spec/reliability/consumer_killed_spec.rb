# frozen_string_literal: true

require_relative "../support/reliability"

RSpec.describe "a consumer process killed with SIGKILL and restarted", :kafka, :reliability do
  let(:partitions) { 4 }
  let(:commit_interval) { 1 }

  it "processes every message at least once, redoing only what was not yet committed" do
    topic = create_topic(unique_name("reliability-kill"), partitions: partitions)
    env = reliability_env(topic: topic, group: unique_name("reliability-kill"), delay: 0.002,
                          offset_commit_interval: commit_interval)
    count = scaled(6_000, 30_000)
    stream = ReliabilityHelpers::NumberedStream.new(brokers: brokers, topic: topic, partitions: partitions,
                                                    rate: scaled(300, 600)).start(count)
    kills = scaled(3, 10)
    kills.times do |i|
      process = start_consumer_process(env)
      # Somewhere in the middle of its work: after it has processed a bit.
      wait_for("process #{i} to consume", timeout: 60) { process.records.positive? }
      sleep(rand(0.3..2.5))
      expect(process).to be_running, process.describe
      process.kill
    end
    last = start_consumer_process(env)
    stream.finish
    sent = (0...stream.sent).to_a
    wait_until_processed(sent)
    expect(last.terminate).to be_success, last.describe

    book = ledger
    report(book.summary("sigkill x#{kills}", sent))
    expect(book.lost(sent)).to be_empty
    expect(book.pids.size).to eq(kills + 1)
    expect(book.order_violations).to be_empty
    expect(book.handover_gaps).to be_empty
    # Only what was processed in the last commit interval (plus a batch and
    # the commit's round trip) before a kill may be processed again.
    expect(book.duplicate_staleness).to be <= commit_interval + 2.0
  end
end
