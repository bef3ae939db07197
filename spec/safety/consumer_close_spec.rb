# frozen_string_literal: true

# Closing a consumer that librdkafka has already fetched ahead for: during
# close librdkafka hands those messages to the queue racecar serves, and
# serving them wrongly aborts the whole process (SIGABRT from an assertion in
# librdkafka). The close runs in a forked child so an abort is reported as a
# failure instead of killing the spec run.
RSpec.describe "Closing a consumer with prefetched messages", :kafka do
  it "leaves the group without aborting, committing what was processed and no more" do
    topic = create_topic
    produce_messages(topic, (0...20_000).map { |i| { value: "prefetched #{i} #{'x' * 100}" } })
    group = unique_name("close")

    reader, writer = IO.pipe
    pid = fork do
      reader.close
      consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => group,
                                               "auto.offset.reset" => "earliest")
      consumer.subscribe([topic])
      first = []
      first.concat(consumer.poll_batch(1, 1000)) while first.empty?
      consumer.store_offset(topic, 0, first.first.offset + 1)
      sleep 1 # the fetcher fills the local queue meanwhile
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      consumer.close
      writer.puts(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)
      writer.close
      exit!(0)
    end
    writer.close
    _, status = Process.wait2(pid)
    close_seconds = reader.read.to_f

    expect(status.termsig).to be_nil
    expect(status.exitstatus).to eq(0)
    expect(close_seconds).to be < 10
    offsets = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => group)
    expect(offsets.committed({ topic => [0] }, 10)).to eq(topic => { 0 => 1 })
  ensure
    offsets&.close
  end
end
