# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# Stopping a runner: from another thread, from a signal trap, by killing its
# thread; what gets committed, and how quickly the group hears about it.
# Stops land in an idle poll of max_wait_time 10 s; a bound of 5 s tells a stop
# that wakes the poll from one that waits it out, with room for a loaded machine.
RSpec.describe "Consumer shutdown", :kafka do
  let(:promptly) { 5 }

  def recording_consumer(topic, seen, block_at: nil, release: nil)
    define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        if message.offset == block_at
          seen << [:blocked, message.offset]
          release ? release.pop : sleep
        end
        seen << message.offset
      end
    end
  end

  def first_offset_after_restart(group_id, topic)
    first = []
    successor = define_consumer(group_id: group_id) do
      subscribes_to topic
      define_method(:process) { |message| first << message.offset }
    end
    running = start_consumer(successor.new)
    eventually(message: "the successor's first message") { first.any? }
    running.stop
    first.first
  end

  it "stops an idle runner from another thread within one max_wait_time" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    seen = []
    running = start_consumer(recording_consumer(topic, seen).new, config: spec_config(max_wait_time: 10))
    eventually(message: "the message") { seen.any? }
    await_idle_poll(running.thread)
    expect(running.stop).to be < promptly
  end

  it "stops a runner on the main thread from a signal trap within one max_wait_time" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    seen = []
    klass = recording_consumer(topic, seen)
    config = spec_config(max_wait_time: 10)
    config.load_consumer_class(klass)
    runner = Racecar::Runner.new(klass.new, config: config, logger: config.logger, instrumenter: quiet_instrumenter,
                                            producer: Racecar::Producer.new(config: config, logger: config.logger,
                                                                            instrumenter: quiet_instrumenter))
    signalled_at = nil
    previous = trap("USR2") { runner.stop }
    main = Thread.current
    signaller = Thread.new do
      sleep 0.05 until seen.any?
      await_idle_poll(main)
      signalled_at = ConsumerHelpers.now
      Process.kill("USR2", Process.pid)
    end
    begin
      Timeout.timeout(30) { runner.run }
    ensure
      trap("USR2", previous || "DEFAULT")
      signaller.kill
    end
    expect(ConsumerHelpers.now - signalled_at).to be < promptly
  end

  it "lets a process call finish when stopped from another thread, then commits through it" do
    topic = create_topic
    produce_messages(topic, (0..4).map { |i| { value: i.to_s } })
    seen = []
    release = Queue.new
    klass = recording_consumer(topic, seen, block_at: 1, release: release)
    running = start_consumer(klass.new)
    eventually(message: "the blocking call") { seen.include?([:blocked, 1]) }
    stopper = Thread.new { running.stop }
    expect(stopper.join(0.5)).to be_nil # still waiting for the process call
    release << true
    stopper.join(10)

    expect(seen).to eq([0, [:blocked, 1], 1])
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 2)
  end

  it "stops without waiting out its poll when its thread is killed during an idle poll, committing what was processed" do
    topic = create_topic
    produce_messages(topic, (0..2).map { |i| { value: i.to_s } })
    seen = []
    klass = recording_consumer(topic, seen)
    running = start_consumer(klass.new, config: spec_config(max_wait_time: 10, offset_commit_interval: 600))
    eventually(message: "three messages") { seen.size == 3 }
    await_idle_poll(running.thread)
    started = ConsumerHelpers.now
    running.thread.kill
    expect(running.thread.join(30)).to be_truthy
    expect(ConsumerHelpers.now - started).to be < promptly

    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 3)
  end

  it "loses nothing when its thread is killed inside process: the interrupted batch is processed again" do
    topic = create_topic
    produce_messages(topic, (0..4).map { |i| { value: i.to_s } })
    seen = []
    klass = recording_consumer(topic, seen, block_at: 2)
    running = start_consumer(klass.new, config: spec_config(offset_commit_interval: 600))
    eventually(message: "the blocking call") { seen.include?([:blocked, 2]) }
    started = ConsumerHelpers.now
    running.thread.kill
    expect(running.thread.join(30)).to be_truthy
    expect(ConsumerHelpers.now - started).to be < promptly

    # What the interrupted batch produced was never confirmed by deliver!, so
    # none of it is committed: the whole batch is processed again.
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => nil)
    expect(first_offset_after_restart(klass.group_id, topic)).to eq(0)
  end

  it "leaves the group on stop, so another member takes over well before the session times out" do
    topic = create_topic(partitions: 2)
    group = unique_name("group")
    first_assigned = []
    second_assigned = []
    first_class = define_consumer(group_id: group) do
      subscribes_to topic
      on_partitions_assigned { |event| first_assigned << event.partitions(topic) }
      define_method(:process) { |_message| nil }
    end
    second_class = define_consumer(group_id: group) do
      subscribes_to topic
      on_partitions_assigned { |event| second_assigned << event.partitions(topic) }
      define_method(:process) { |_message| nil }
    end
    first = start_consumer(first_class.new, config: spec_config(session_timeout: 30))
    eventually(message: "the first assignment") { first_assigned.last == [0, 1] }
    start_consumer(second_class.new, config: spec_config(session_timeout: 30))
    eventually(message: "the second member's share") { second_assigned.last&.size == 1 }

    first.stop
    started = ConsumerHelpers.now
    eventually(message: "the second member taking both partitions", timeout: 30) { second_assigned.last == [0, 1] }
    expect(ConsumerHelpers.now - started).to be < 15 # the session timeout is 30 s
  end

  it "returns at once, having processed nothing, when stopped before it runs" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    seen = []
    klass = recording_consumer(topic, seen)
    config = spec_config
    config.load_consumer_class(klass)
    runner = Racecar::Runner.new(klass.new, config: config, logger: config.logger, instrumenter: quiet_instrumenter,
                                            producer: Racecar::Producer.new(config: config, logger: config.logger,
                                                                            instrumenter: quiet_instrumenter))
    runner.stop
    started = ConsumerHelpers.now
    runner.run
    expect(ConsumerHelpers.now - started).to be < promptly
    expect(seen).to be_empty
  end
end
