# frozen_string_literal: true

require "fileutils"
require_relative "../support/reliability"

RSpec.describe "process raising for one partition for a while", :kafka, :reliability do
  let(:partitions) { 4 }
  let(:failing) { 1 }

  it "keeps the other partitions flowing, then resumes the failing one without skipping anything" do
    topic = create_topic(unique_name("reliability-fail"), partitions: partitions)
    consumer = start_consumer_process(reliability_env(topic: topic, group: unique_name("reliability-fail")))
    count = scaled(4_000, 20_000)
    stream = ReliabilityHelpers::NumberedStream.new(brokers: brokers, topic: topic, partitions: partitions,
                                                    rate: scaled(250, 500)).start(count)
    wait_for("the consumer to process", timeout: 60) { consumer.records.positive? }

    FileUtils.touch(control_file("fail-#{failing}"))
    # Whatever was past the check when the file appeared.
    sleep(0.5)
    failing_from = ReliabilityHelpers.now
    sleep(scaled(4, 15))
    during = ledger.records.select { |r| r.at > failing_from }
    FileUtils.rm_f(control_file("fail-#{failing}"))
    stream.finish
    sent = (0...stream.sent).to_a
    wait_until_processed(sent)
    expect(consumer.terminate).to be_success, consumer.describe

    book = ledger
    failures = consumer.output.scan("injected failure for partition #{failing}").size
    report(book.summary("failing partition", sent, failed_attempts: failures,
                                                   processed_while_failing: during.size))
    expect(during.map(&:partition).uniq).to contain_exactly(*(0...partitions).to_a - [failing])
    expect(failures).to be > 1 # retried after each pause, not given up
    expect(book.lost(sent)).to be_empty
    expect(book.order_violations).to be_empty
    offsets = book.by_partition[failing].map(&:offset)
    expect(offsets.uniq.sort).to eq((0..offsets.max).to_a)
    # Nothing processed twice: the failing message raised before it was
    # recorded, and the partition was rewound to exactly that message.
    expect(book.duplicates).to eq(0)
  end
end
