# frozen_string_literal: true

require "stringio"
require_relative "../support/consumer_helpers"

# What a consumer sees of the messages it is given: order, batching, message
# contents, subscriptions and where a new group starts reading.
RSpec.describe "Consumer processing", :kafka do
  let(:instrumenter) { quiet_instrumenter }

  # Records the number of process / process_batch calls seen at the end of each
  # loop iteration, so calls can be grouped by the poll that fed them.
  def track_polls(calls)
    boundaries = []
    instrumenter.subscribe("main_loop") { boundaries << calls.size }
    boundaries
  end

  def split_by_poll(calls, boundaries)
    groups = []
    previous = 0
    boundaries.each do |upto|
      groups << calls[previous...upto] if upto > previous
      previous = upto
    end
    groups
  end

  describe "#process" do
    it "is called once per message, in offset order within each partition" do
      topic = create_topic(partitions: 3)
      fill_partitions(topic, partitions: 3, per_partition: 40)
      seen = []
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |message| seen << [message.partition, message.offset, message.value] }
      end
      start_consumer(klass.new)
      eventually(message: "120 messages") { seen.size >= 120 }
      sleep 0.5 # a duplicate would arrive now

      expect(seen.size).to eq(120)
      (0..2).each do |partition|
        mine = seen.select { |p, _, _| p == partition }
        expect(mine.map { |_, offset, _| offset }).to eq((0...40).to_a)
        expect(mine.map(&:last)).to eq((0...40).map { |i| "p#{partition}-#{i}" })
      end
    end

    it "hands over value, key, topic, partition, offset, create_time, headers and retries_count" do
      topic = create_topic(partitions: 2)
      created = Time.at(1_700_000_000, 123, :millisecond)
      produce_messages(topic, [{ value: "v", key: "the-key", partition: 1, headers: { "a" => "1", "b" => "two" },
                                 create_time: (created.to_r * 1000).to_i }])
      received = []
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |message| received << message }
      end
      start_consumer(klass.new)
      message = eventually(message: "the message") { received.first }

      expect([message.value, message.key, message.topic, message.partition, message.offset, message.retries_count])
        .to eq(["v", "the-key", topic, 1, 0, 0])
      expect(message.create_time).to eq(created)
      expect(message.headers).to eq("a" => "1", "b" => "two")
      expect(message.headers).to be_frozen
    end

    it "gives nil for a missing key and an empty frozen Hash for missing headers" do
      topic = create_topic
      produce_messages(topic, [{ value: "v" }])
      received = []
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |message| received << message }
      end
      start_consumer(klass.new)
      message = eventually(message: "the message") { received.first }
      expect([message.key, message.headers, message.headers.frozen?]).to eq([nil, {}, true])
    end

    it "is called at most fetch_messages times per poll" do
      topic = create_topic(partitions: 2)
      fill_partitions(topic, partitions: 2, per_partition: 30)
      calls = []
      klass = define_consumer do
        subscribes_to topic
        self.fetch_messages = 7
        define_method(:process) { |message| calls << message.offset }
      end
      boundaries = track_polls(calls)
      start_consumer(klass.new, instrumenter: instrumenter)
      eventually(message: "60 messages") { calls.size >= 60 && boundaries.last == calls.size }

      sizes = split_by_poll(calls, boundaries).map(&:size)
      expect(sizes.max).to eq(7)
      expect(sizes.sum).to eq(60)
    end
  end

  describe "#process_batch" do
    it "is called once per partition per poll, with that partition's messages in order" do
      topic = create_topic(partitions: 3)
      fill_partitions(topic, partitions: 3, per_partition: 50)
      batches = []
      klass = define_consumer do
        subscribes_to topic
        self.fetch_messages = 20
        define_method(:process_batch) { |messages| batches << messages.map { |m| [m.partition, m.offset] } }
      end
      boundaries = track_polls(batches)
      start_consumer(klass.new, instrumenter: instrumenter)
      eventually(message: "150 messages") { batches.sum(&:size) >= 150 && boundaries.last == batches.size }

      expect(batches).to all(satisfy { |batch| batch.map(&:first).uniq.size == 1 })
      split_by_poll(batches, boundaries).each do |poll|
        expect(poll.map { |batch| batch.first.first }).to eq(poll.map { |batch| batch.first.first }.uniq)
        expect(poll.sum(&:size)).to be <= 20
      end
      (0..2).each do |partition|
        offsets = batches.select { |batch| batch.first.first == partition }.flat_map { |batch| batch.map(&:last) }
        expect(offsets).to eq((0...50).to_a)
      end
    end

    it "gets whole polls of up to fetch_messages messages when the topic has more" do
      topic = create_topic
      produce_messages(topic, (1..45).map { |i| { value: i.to_s } })
      sizes = []
      klass = define_consumer do
        subscribes_to topic
        self.fetch_messages = 10
        define_method(:process_batch) { |messages| sizes << messages.size }
      end
      start_consumer(klass.new)
      eventually(message: "45 messages") { sizes.sum >= 45 }
      expect(sizes.max).to eq(10)
      expect(sizes.sum).to eq(45)
    end
  end

  describe "subscriptions" do
    it "serves several topics with one group member" do
      first = create_topic(partitions: 2)
      second = create_topic
      produce_messages(first, [{ value: "a0", partition: 0 }, { value: "a1", partition: 1 }])
      produce_messages(second, [{ value: "b0" }])
      assigned = []
      seen = []
      klass = define_consumer do
        subscribes_to first
        subscribes_to second
        on_partitions_assigned { |event| assigned << event.topic_partitions }
        define_method(:process) { |message| seen << [message.topic, message.value, Thread.current] }
      end
      start_consumer(klass.new)
      eventually(message: "three messages") { seen.size >= 3 }

      expect(assigned).to eq([{ first => [0, 1], second => [0] }])
      expect(seen.map { |topic, value, _| [topic, value] })
        .to contain_exactly([first, "a0"], [first, "a1"], [second, "b0"])
      expect(seen.map(&:last).uniq.size).to eq(1)
    end

    # librdkafka prefetches the whole busy backlog (well under
    # min_message_queue_size and queued.max.messages.kbytes). Behind one shared
    # queue the quiet topic's message would wait for all of it, about 25 s at
    # 0.5 ms a message, and its partition would not even be fetched meanwhile.
    it "does not let a busy topic's backlog hold up a quiet topic's new message" do
      busy = create_topic
      quiet = create_topic
      backlog = 50_000
      produce_messages(busy, Array.new(backlog) { |i| "busy-#{i}" })
      busy_seen = 0
      quiet_seen_after = nil
      klass = define_consumer do
        subscribes_to busy
        subscribes_to quiet
        define_method(:process) do |message|
          if message.topic == quiet
            quiet_seen_after = busy_seen
          else
            busy_seen += 1
            sleep 0.0005
          end
        end
      end
      start_consumer(klass.new)
      eventually(message: "the busy topic being worked through") { busy_seen >= 1000 }

      produced_at = ConsumerHelpers.now
      produce_messages(quiet, ["wake up"])
      eventually(timeout: 60, message: "the quiet topic's message") { quiet_seen_after }
      waited = ConsumerHelpers.now - produced_at

      expect(waited).to be < 10 # working through the backlog first would take ~25 s
      expect(quiet_seen_after).to be < backlog / 2
    end

    # Produces markers until the consumer sees one: only then is it certainly
    # reading at the end of the topic, so earlier messages were skipped, not late.
    def wait_for_marker(topic, seen)
      eventually(message: "a marker in #{topic}") do
        produce_messages(topic, [{ value: "marker" }])
        sleep 0.2
        seen.include?([topic, "marker"])
      end
    end

    it "reads a new group's topic from the beginning by default" do
      topic = create_topic
      produce_messages(topic, [{ value: "old" }])
      seen = []
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |message| seen << [message.topic, message.value] }
      end
      start_consumer(klass.new)
      eventually(message: "the old message") { seen.include?([topic, "old"]) }
    end

    it "reads only new messages with start_from_beginning: false" do
      topic = create_topic
      produce_messages(topic, [{ value: "old" }])
      seen = []
      klass = define_consumer do
        subscribes_to topic, start_from_beginning: false
        define_method(:process) { |message| seen << [message.topic, message.value] }
      end
      start_consumer(klass.new)
      wait_for_marker(topic, seen)
      expect(seen).not_to include([topic, "old"])
    end

    it "starts each topic where its own subscription says when two subscriptions disagree" do
      from_start = create_topic
      from_end = create_topic
      produce_messages(from_start, [{ value: "old" }])
      produce_messages(from_end, [{ value: "old" }])
      seen = []
      klass = define_consumer do
        subscribes_to from_end, start_from_beginning: false
        subscribes_to from_start, start_from_beginning: true
        define_method(:process) { |message| seen << [message.topic, message.value] }
      end
      start_consumer(klass.new)
      wait_for_marker(from_end, seen)
      eventually(message: "the old message of #{from_start}") { seen.include?([from_start, "old"]) }
      expect(seen).not_to include([from_end, "old"])
    end

    it "lets additional_config override racecar's own settings" do
      topic = create_topic
      produce_messages(topic, [{ value: "old" }])
      seen = []
      klass = define_consumer do
        subscribes_to topic, start_from_beginning: true, additional_config: { "auto.offset.reset" => "latest" }
        define_method(:process) { |message| seen << [message.topic, message.value] }
      end
      start_consumer(klass.new)
      wait_for_marker(topic, seen)
      expect(seen).not_to include([topic, "old"])
    end

    it "gives librdkafka the largest max_bytes_per_partition as its per-partition fetch limit" do
      topic = create_topic
      other = create_topic
      log = StringIO.new
      config = spec_config(log_level: "debug")
      config.logger = Logger.new(log)
      klass = define_consumer do
        subscribes_to topic, max_bytes_per_partition: 4321, additional_config: { "debug" => "conf" }
        subscribes_to other, max_bytes_per_partition: 1234
        define_method(:process) { |_message| nil }
      end
      start_consumer(klass.new, config: config)
      eventually(message: "the configuration dump") { log.string.include?("fetch.message.max.bytes") }
      expect(log.string).to match(/fetch\.message\.max\.bytes = 4321$/)
    end
  end

  it "calls teardown once when the runner stops" do
    topic = create_topic
    teardowns = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| nil }
      define_method(:teardown) { teardowns << Thread.current }
    end
    running = start_consumer(klass.new)
    await_idle_poll(running.thread)
    running.stop
    expect(teardowns).to eq([running.thread])
  end

  describe "statistics_callback" do
    it "gets librdkafka's statistics as a Hash every statistics_interval" do
      topic = create_topic
      stats = []
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |_message| nil }
        define_method(:statistics_callback) { |hash| stats << [hash, ConsumerHelpers.now] }
      end
      start_consumer(klass.new, config: spec_config(statistics_interval: 0.3))
      eventually(message: "four statistics") { stats.size >= 4 }

      expect(stats.map(&:first)).to all(be_a(Hash).and(include("type" => "consumer", "topics" => be_a(Hash))))
      gaps = stats.map(&:last).each_cons(2).map { |a, b| b - a }
      # Callbacks run when a poll returns (max_wait_time 0.2 s), so single gaps
      # vary; their mean stays near 0.3 s, far from librdkafka's default of none.
      expect(gaps.sum / gaps.size).to be_between(0.15, 0.6)
    end

    it "leaves statistics off for a consumer without the method" do
      topic = create_topic
      processed = []
      published = []
      instrumenter.subscribe("statistics") { |_name, payload| published << payload }
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |message| processed << message }
      end
      produce_messages(topic, [{ value: "x" }])
      start_consumer(klass.new, config: spec_config(statistics_interval: 0.1), instrumenter: instrumenter)
      eventually(message: "the message") { processed.any? }
      sleep 0.5
      expect(published).to be_empty
    end
  end
end
