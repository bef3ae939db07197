# frozen_string_literal: true

require "active_support"
require "active_support/notifications"
require_relative "../support/consumer_helpers"

# Upstream Racecar 2.12's consumer events (UPSTREAM-CONTRACT §4.2, §4.6, §6.1)
# as a subscriber sees them from a real consumer on the real broker: names,
# payload keys, which events time a block and how often they fire.
RSpec.describe "Upstream consumer events", :kafka do
  BASE = %i[consumer_class client_id group_id].freeze

  let(:instrumenter) { quiet_instrumenter }
  let(:events) { Queue.new }
  let(:recorded) { [] }

  before do
    instrumenter.subscribe(/\.racecar\z/) do |name, payload, duration|
      events << [name.delete_suffix(".racecar"), payload.dup, duration]
    end
  end

  def drain
    recorded << events.pop until events.empty?
    recorded
  end

  def named(name)
    drain.select { |event_name, _, _| event_name == name }
  end

  def consumer_with(topic, &body)
    define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| nil }
      class_eval(&body) if body
    end
  end

  it "puts upstream's `partitions` in partitions_assigned / partitions_revoked and times the class hook" do
    topic = create_topic(partitions: 2)
    klass = consumer_with(topic)
    klass.define_singleton_method(:on_partitions_assigned) { |_event| sleep 0.2 }
    klass.define_singleton_method(:on_partitions_revoked) { |_event| sleep 0.2 }
    running = start_consumer(klass.new, config: spec_config(client_id: "events-spec"), instrumenter: instrumenter)
    eventually(message: "partitions_assigned") { named("partitions_assigned").any? }
    running.stop

    base = { consumer_class: klass.name, client_id: "events-spec", group_id: klass.group_id }
    %w[partitions_assigned partitions_revoked].each do |name|
      (_, payload, duration), = named(name)
      expect(payload).to include(base.merge(partitions: [0, 1], topic_partitions: { topic => [0, 1] }))
      expect(duration).to be >= 0.2 # the hook ran inside the event
    end
  end

  it "fires start_main_loop before every poll and times poll + processing in main_loop" do
    topic = create_topic
    running = start_consumer(consumer_with(topic).new, config: spec_config(max_wait_time: 0.1),
                                                       instrumenter: instrumenter)
    eventually(message: "ten main_loop events") { named("main_loop").size >= 10 }
    running.stop

    loop_events = drain.map(&:first).select { |name| %w[start_main_loop main_loop].include?(name) }
    # Strictly alternating, one start per loop: start, main, start, main, ...
    expect(loop_events.each_slice(2).to_a.uniq).to eq([%w[start_main_loop main_loop]])
    durations = named("main_loop").map { |_, _, duration| duration }
    # An idle poll waits max_wait_time (100 ms); most iterations are idle polls.
    expect(durations.sort[durations.size / 2]).to be >= 0.08
    expect(named("start_main_loop").map { |_, _, duration| duration }).to all(eq(0.0))
  end

  it "times join_group around subscribing and leave_group around closing the consumer" do
    topic = create_topic
    running = start_consumer(consumer_with(topic).new, instrumenter: instrumenter)
    eventually(message: "partitions_assigned") { named("partitions_assigned").any? }
    running.stop

    names = drain.map(&:first)
    expect(names.first(2)).to eq(%w[start_main_loop join_group])
    expect(names.count("join_group")).to eq(1)
    expect(names.last(3)).to eq(%w[partitions_revoked leave_group shut_down])
    expect(named("join_group").first[2]).to be > 0.0
    expect(named("leave_group").first[2]).to be > 0.001 # leaving the group is a broker round trip
  end

  it "gives every consumer event consumer_class, client_id and group_id" do
    topic = create_topic
    produce_messages(topic, %w[a b])
    klass = consumer_with(topic)
    running = start_consumer(klass.new, instrumenter: instrumenter)
    eventually(message: "two messages") { named("process_message").size == 2 }
    running.stop

    names = drain.map(&:first).uniq
    expect(names).to include("start_main_loop", "main_loop", "join_group", "partitions_assigned",
                             "start_process_message", "process_message", "partitions_revoked", "leave_group",
                             "shut_down")
    drain.each { |name, payload, _| expect(payload.keys).to include(*BASE), name }
    expect(named("shut_down").first[1]).to include(consumer_class: klass.name, group_id: klass.group_id)
  end

  it "publishes upstream's poll_retry (try, rdkafka_time_limit, exception) next to poll_error" do
    klass = consumer_with("poll-retry-spec")
    config = spec_config(max_wait_time: 0.1)
    config.brokers = ["127.0.0.1:1"] # nothing listens there: every connection attempt fails
    running = start_consumer(klass.new, config: config, instrumenter: instrumenter)
    eventually(message: "two poll_retry events") { named("poll_retry").size >= 2 }
    running.stop

    (_, first, _), (_, second, _) = named("poll_retry")
    expect(first).to include(consumer_class: klass.name, try: 1, rdkafka_time_limit: 100)
    expect(first[:exception]).to be_a(Racecar::KafkaError)
    expect(second[:try]).to be >= 1
    expect(named("poll_error").size).to be >= named("poll_retry").size
  end

  it "reports pause_status with duration 0 once a paused partition resumes" do
    topic = create_topic
    produce_messages(topic, %w[fails-once])
    attempts = Queue.new
    klass = consumer_with(topic) do
      define_method(:process) do |message|
        attempts << message.value
        raise "first attempt fails" if attempts.size == 1
      end
    end
    start_consumer(klass.new, config: spec_config(pause_timeout: 0.5, max_wait_time: 0.1), instrumenter: instrumenter)
    eventually(message: "a resumed pause") do
      named("pause_status").any? { |_, payload, _| payload[:duration].zero? } && named("process_message").size == 2
    end

    statuses = named("pause_status").map { |_, payload, _| payload }
    expect(statuses).to all(include(*BASE, :topic, :partition, :duration))
    expect(statuses.map { |payload| payload[:duration] }.select(&:positive?)).not_to be_empty
    expect(statuses.last).to include(topic: topic, partition: 0, duration: 0.0)
  end

  it "starts firing start_main_loop and main_loop for a subscriber that comes while the loop runs quietly" do
    quiet = quiet_instrumenter
    assigned = Queue.new
    klass = consumer_with(create_topic)
    klass.define_singleton_method(:on_partitions_assigned) { |_event| assigned << true }
    start_consumer(klass.new, config: spec_config(max_wait_time: 0.1), instrumenter: quiet)
    Timeout.timeout(30) { assigned.pop }
    sleep 0.3 # a few quiet iterations, with nobody listening
    late = Queue.new
    quiet.subscribe(/main_loop/) { |name, _payload, _duration| late << name }
    names = Timeout.timeout(30) { Array.new(4) { late.pop } }
    expect(names).to include("start_main_loop.racecar", "main_loop.racecar")
  end

  describe "through ActiveSupport::Notifications" do
    let(:handles) { [] }

    after { handles.each { |handle| ActiveSupport::Notifications.unsubscribe(handle) } }

    it "delivers main_loop with its start and finish times, to timed and Event subscribers alike" do
      timed = Queue.new
      objects = Queue.new
      handles << ActiveSupport::Notifications.subscribe("main_loop.racecar") do |_name, started, finished, _id, payload|
        timed << [finished - started, payload]
      end
      handles << ActiveSupport::Notifications.subscribe("main_loop.racecar") { |event| objects << event }
      as_instrumenter = Racecar::Instrumenter.new(backend: ActiveSupport::Notifications)
      topic = create_topic
      klass = consumer_with(topic)
      running = start_consumer(klass.new, config: spec_config(max_wait_time: 0.1), instrumenter: as_instrumenter)
      eventually(message: "five main_loop events") { timed.size >= 5 && objects.size >= 5 }
      running.stop

      durations = Array.new(timed.size) { timed.pop }.map(&:first)
      expect(durations.sort[durations.size / 2]).to be >= 0.08
      event = objects.pop
      expect(event.payload).to include(consumer_class: klass.name)
      expect(event.duration).to be >= 0 # milliseconds, from ActiveSupport's own clock
    end
  end
end
