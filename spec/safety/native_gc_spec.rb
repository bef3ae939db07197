# frozen_string_literal: true

require "objspace"
require_relative "../support/collection"
require_relative "../support/compaction"

# The native objects (Racecar::Message, Native::Consumer, Native::Producer,
# Native::DeliveryTracker) against Ruby's garbage collector: every allocation
# collecting (GC.stress), objects moving (compaction, verified with
# GC.verify_compaction_references, which aborts the process on a stale
# reference), old objects pointing at young ones (write barriers, checked by
# GC.verify_internal_consistency, which aborts on a missed barrier), and
# objects collected without close. Under bin/memcheck the same examples also
# prove there are no invalid accesses or leaks on these paths.
RSpec.describe "Native objects and the garbage collector", :kafka do
  MESSAGE_COUNT = 40

  # Create times are recent: the test broker deletes records older than its
  # 24 h retention within a minute, whatever their offset.
  def self.sample_message(index, now_ms)
    {
      value: case index % 4
             when 0 then nil
             when 1 then "v#{index}"
             when 2 then "\xFF\x00binary".b * (index + 1)
             else "long value #{index} " * 40
             end,
      key: index % 5 == 0 ? nil : "key-#{index}",
      partition: index % 2,
      headers: index % 3 == 0 ? nil : { "index" => index.to_s, "binary" => "\x00\xFF".b, "empty" => "", "none" => nil },
      create_time: now_ms - 60_000 + index,
    }
  end

  before(:context) do
    @topic = create_topic(partitions: 2)
    now_ms = (Time.now.to_r * 1000).to_i
    @sent = (0...MESSAGE_COUNT).map { |i| self.class.sample_message(i, now_ms) }
    produce_messages(@topic, @sent)
  end

  def under_gc_stress
    GC.stress = true
    yield
  ensure
    GC.stress = false
  end

  def compact!
    Compaction.verify_references!
  end

  def new_consumer(group: unique_name("gc"))
    Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => group, "auto.offset.reset" => "earliest")
  end

  # Polls every sample message with a raw native consumer; with stress:
  # true each poll_batch runs under GC.stress.
  def poll_all(count = MESSAGE_COUNT, topic: @topic, stress: false)
    consumer = new_consumer
    consumer.subscribe([topic])
    received = []
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
    while received.size < count
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        errors = consumer.drain_events.reject { |event| event.first == :log }
        raise "only #{received.size} of #{count} messages arrived; assignment #{consumer.assignment}, events #{errors}"
      end

      received.concat(stress ? under_gc_stress { consumer.poll_batch(8, 200) } : consumer.poll_batch(8, 200))
    end
    received
  ensure
    consumer&.close
  end

  def expected_for(message)
    per_partition = @sent.select { |m| m[:partition] == message.partition }
    per_partition.fetch(message.offset)
  end

  def expect_intact(messages)
    expect(messages.size).to eq(MESSAGE_COUNT)
    messages.each do |message|
      want = expected_for(message)
      expect([message.topic, message.key, message.value]).to eq([@topic, want[:key], want[:value]])
      expect(message.headers).to eq(want[:headers] || {})
      expect(message.headers).to be_frozen
      expect((message.create_time.to_r * 1000).to_i).to eq(want[:create_time])
    end
  end

  # Runs a racecar consumer of the sample topic whose method (:process or
  # :process_batch) is the block, until done says so.
  def run_gc_consumer(name, method, fetch_messages:, done:, &body)
    topic = @topic
    consumer_class = Class.new(Racecar::Consumer) do
      subscribes_to topic
      define_method(method, &body)
    end
    stub_const(name, consumer_class)
    consumer_class.group_id = unique_name("gc-runner")
    config = spec_config
    config.fetch_messages = fetch_messages
    run_consumer(consumer_class.new, config: config) { done.call }
  end

  def old?(object)
    ObjectSpace.dump(object).include?('"old":true')
  end

  describe "Racecar::Message" do
    it "comes out intact when every allocation runs the GC while it is built and its headers converted" do
      messages = poll_all(stress: true)
      under_gc_stress { messages.each(&:headers) }

      expect_intact(messages)
    end

    it "keeps value, key, topic and headers through compaction, before and after headers are converted" do
      messages = poll_all
      messages.each_slice(2) { |first, _| first.headers }
      compact!
      expect_intact(messages)
      compact!
      expect_intact(messages)
    end

    it "keeps a headers Hash converted after the message became old (write barrier)" do
      messages = poll_all
      4.times { GC.start }
      expect(messages.map { |m| old?(m) }.uniq).to eq([true])

      messages.each(&:headers)
      GC.verify_internal_consistency # aborts the process on an old -> young reference without barrier
      3.times { GC.start(full_mark: false) }

      expect_intact(messages)
    end
  end

  describe "Native::Consumer" do
    it "turns queued librdkafka events into Ruby objects under GC.stress", :valgrind_slow do
      consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("gc"),
                                               "debug" => "cgrp,topic")
      consumer.subscribe([@topic])
      consumer.poll_batch(1, 1000)
      events = under_gc_stress { consumer.drain_events }

      logs = events.select { |event| event.first == :log }
      expect(logs).not_to be_empty
      expect(logs.map { |_, level, facility, text| [level.class, facility.class, text.class] }.uniq)
        .to eq([[Integer, String, String]])
    ensure
      consumer&.close
    end

    # A receiver referenced only from C is free to move; the consumer must
    # follow it (dcompact) or it would call process on a stale address.
    it "follows its dispatch receiver when compaction moves it" do
      consumer = new_consumer
      consumer.subscribe([@topic])
      seen = []
      Thread.new do
        receiver = Object.new
        receiver.define_singleton_method(:process) { |message| seen << [message.partition, message.offset] }
        consumer.dispatch_to(receiver, :process)
      end.join
      compact!

      dispatcher = Object.new
      dispatcher.define_singleton_method(:deliver) { nil }
      dispatcher.define_singleton_method(:handle_events) { |_events| nil }
      dispatcher.define_singleton_method(:handle_failure) { |exception, *| raise exception }
      dispatcher.define_singleton_method(:after_loop) { |_count| consumer.stop if seen.size >= MESSAGE_COUNT }
      Timeout.timeout(60) { consumer.run(dispatcher, 8, 0.2, false) }

      expect(seen.sort).to eq(@sent.group_by { |m| m[:partition] }.flat_map { |p, ms| ms.each_index.map { |o| [p, o] } }.sort)
    ensure
      consumer&.close
    end

    it "is freed by the GC without close, even while subscribed" do
      freed = freed_by_gc? do
        consumer = new_consumer
        consumer.subscribe([@topic])
        consumer.poll_batch(1, 500)
        consumer
      end

      expect(freed).to be(true)
    end
  end

  describe "Racecar::Runner's native loop" do
    # The loop keeps the dispatcher and the process receiver in C; both must
    # follow objects that compaction moves and survive collections that run
    # in the middle of dispatching.
    def run_sample_consumer(on_message)
      seen = []
      run_gc_consumer("GcSafetyConsumer", :process, fetch_messages: 3, done: -> { seen.size >= MESSAGE_COUNT }) do |message|
        seen << [message.partition, message.offset, message.key, message.value, message.headers]
        on_message.call(seen.size)
      end
      seen
    ensure
      GC.stress = false
    end

    def expected_rows
      @sent.group_by { |m| m[:partition] }.flat_map do |partition, messages|
        messages.each_with_index.map { |m, offset| [partition, offset, m[:key], m[:value], m[:headers] || {}] }
      end
    end

    it "processes every message once, intact, when the heap is compacted between messages" do
      seen = run_sample_consumer(->(count) { compact! if (count % 10).zero? })

      expect(seen.sort_by { |row| row.first(2) }).to eq(expected_rows.sort_by { |row| row.first(2) })
    end

    it "processes every message once, intact, with GC.stress on while it dispatches", :valgrind_slow do
      seen = run_sample_consumer(->(count) { GC.stress = count < MESSAGE_COUNT })

      expect(seen.sort_by { |row| row.first(2) }).to eq(expected_rows.sort_by { |row| row.first(2) })
    end
  end

  # The runner builds the messages of one partition run into one shared
  # block and makes value and key Strings only when asked for. Messages kept
  # past their run must keep the block alive, and the first read of a value
  # may come after the message became old or moved.
  describe "Messages the runner built, kept after their batch" do
    def kept_messages(every:)
      kept = []
      count = 0
      run_gc_consumer("GcKeptMessagesConsumer", :process_batch, fetch_messages: 8,
                                                                done: -> { count >= MESSAGE_COUNT }) do |messages|
        messages.each_with_index do |message, index|
          kept << message if ((count + index) % every).zero? || message.equal?(messages.last)
        end
        count += messages.size
      end
      kept
    end

    def expect_as_sent(messages)
      expect(messages).not_to be_empty
      messages.each do |message|
        want = expected_for(message)
        expect([message.topic, message.key, message.value]).to eq([@topic, want[:key], want[:value]])
        expect(message.headers).to eq(want[:headers] || {})
      end
    end

    it "reads values first after the other messages of their runs were collected and the heap compacted" do
      kept = kept_messages(every: 5)
      expect(kept.size).to be < MESSAGE_COUNT
      3.times { GC.start }
      compact!

      expect_as_sent(kept)
    end

    it "reads values first after the messages became old (write barrier)" do
      kept = kept_messages(every: 1)
      4.times { GC.start }
      expect(kept.map { |m| old?(m) }.uniq).to eq([true])

      kept.each { |message| [message.value, message.key] }
      GC.verify_internal_consistency # aborts the process on an old -> young reference without barrier
      3.times { GC.start(full_mark: false) }

      expect_as_sent(kept)
    end

    it "reads values first under GC.stress" do
      kept = kept_messages(every: 3)
      values = under_gc_stress { kept.map { |message| [message.value, message.key, message.headers] } }

      expect(values).to eq(kept.map { |m| want = expected_for(m); [want[:value], want[:key], want[:headers] || {}] })
    end
  end

  describe "Native::Producer and DeliveryTracker" do
    let(:producer) { Racecar::Native::Producer.new("bootstrap.servers" => brokers, "linger.ms" => "2") }

    after { producer.close(10) }

    it "copies values, keys and headers whose conversion allocates, under GC.stress" do
      topic = create_topic
      tracker = Racecar::Native::DeliveryTracker.new
      under_gc_stress do
        10.times do |i|
          producer.produce(topic, "value-#{i}", "key-#{i}", 0, { number: i, "text" => :symbol, "nil" => nil },
                           nil, tracker)
        end
      end
      expect(tracker.wait(30)).to be(true)
      expect(under_gc_stress { tracker.take_failures }).to eq([])

      received = poll_all(10, topic: topic)
      expect(received.map { |m| [m.key, m.value, m.headers] }).to eq(
        (0...10).map { |i| ["key-#{i}", "value-#{i}", { "number" => i.to_s, "text" => "symbol", "nil" => nil }] },
      )
    end

    it "delivers for a tracker that Ruby collected while its messages were in flight" do
      topic = create_topic
      Thread.new do
        tracker = Racecar::Native::DeliveryTracker.new
        200.times { |i| producer.produce(topic, "dropped-#{i}", nil, 0, { "i" => i.to_s }, nil, tracker) }
      end.join
      3.times { GC.start }
      compact!

      survivor = Racecar::Native::DeliveryTracker.new
      producer.produce(topic, "last", nil, 0, nil, nil, survivor)
      expect(survivor.wait(30)).to be(true)
      expect(survivor.last_delivery).to eq([0, 200])
    end

    # The async lane (produce_async's C path) holds its Racecar::Producer, the
    # native handle, the instrumenter's quiet marker and $LOADED_FEATURES.
    it "follows the async lane's references when compaction moves them" do
      topic = create_topic
      instrumenter = Racecar::Instrumenter.new(backend: nil)
      owner = Racecar::Producer.new(config: spec_config, logger: Logger.new(File::NULL), instrumenter: instrumenter)
      owner.wait_for_delivery { owner.produce_async(value: "before", topic: topic) }
      compact!
      GC.start
      under_gc_stress { owner.wait_for_delivery { owner.produce_async(value: "stressed", topic: topic) } }
      heard = []
      instrumenter.subscribe(:produce_async) { |_name, payload, _duration| heard << payload[:value] }
      owner.wait_for_delivery { owner.produce_async(value: "heard", topic: topic) }
      owner.close(10)

      expect(heard).to eq(["heard"])
      expect(poll_all(3, topic: topic).map(&:value)).to eq(%w[before stressed heard])
    end

    it "fails the trackers of undelivered messages when the producer is collected without close" do
      tracker = Racecar::Native::DeliveryTracker.new
      freed = freed_by_gc? do
        unreachable = Racecar::Native::Producer.new("bootstrap.servers" => "127.0.0.1:1", "message.timeout.ms" => "600000")
        3.times { |i| unreachable.produce("nowhere", "v#{i}", nil, nil, { "h" => "x" }, nil, tracker) }
        unreachable
      end

      expect(freed).to be(true)
      expect(tracker.wait(5)).to be(true)
      expect(tracker.take_failures.map { |_, _, code, _| code }).to eq(%i[purge_queue] * 3)
    end
  end
end
