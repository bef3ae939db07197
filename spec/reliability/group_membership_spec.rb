# frozen_string_literal: true

require_relative "../support/reliability"

RSpec.describe "three consumer processes in a group, one joining and one leaving mid-stream", :kafka, :reliability do
  let(:partitions) { 6 }

  {
    "eager (range)" => "range",
    "cooperative-sticky" => "cooperative-sticky",
  }.each do |protocol, strategy|
    it "with #{protocol}: loses nothing and works each partition in order, one member at a time" do
      topic = create_topic(unique_name("reliability-group"), partitions: partitions)
      env = reliability_env(topic: topic, group: unique_name("reliability-group"), delay: 0.001,
                            partition_assignment_strategy: strategy)
      count = scaled(5_000, 40_000)
      rate = scaled(250, 500)
      first = start_consumer_process(env)
      second = start_consumer_process(env)
      wait_for("both to be assigned partitions", timeout: 60) do
        [first, second].all? { |member| member.output.include?("Assigned partitions: #{topic}/") }
      end
      stream = ReliabilityHelpers::NumberedStream.new(brokers: brokers, topic: topic, partitions: partitions,
                                                      rate: rate).start(count)
      sleep(count / rate / 4.0)
      joining = start_consumer_process(env)
      wait_for("the third member to consume", timeout: 60) { joining.records.positive? }
      sleep(count / rate / 4.0)
      expect(first.terminate).to be_success, first.describe
      stream.finish
      sent = (0...stream.sent).to_a
      wait_until_processed(sent)
      expect([second, joining].map(&:terminate)).to all(be_success)

      book = ledger
      report(book.summary("group #{strategy} join+leave", sent, most_owners_of_a_partition: book.most_runs))
      expect(book.lost(sent)).to be_empty
      expect(book.order_violations).to be_empty
      expect(book.handover_gaps).to be_empty
      # Offsets are committed when a partition is revoked or its member
      # leaves, so its next owner starts exactly where the last one stopped.
      # With cooperative-sticky this also needs the periodic commits to stay
      # out of the rebalance: in librdkafka 2.0 a commit that crosses its
      # second join drops the whole assignment as lost
      # (confluentinc/librdkafka#4059), and the next owners redid up to
      # 470 messages in 4 runs of 6 while racecar sent those commits itself.
      expect(book.duplicates).to eq(0)
      # One stretch of ownership per membership change at most (the two
      # first members may each start alone): members interleaving on a
      # partition would show up as many short stretches.
      expect(book.most_runs).to be <= 4
      expect(book.pids).to contain_exactly(first.pid, second.pid, joining.pid)
    end
  end
end
