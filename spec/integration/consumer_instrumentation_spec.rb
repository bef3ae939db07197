# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# The events the runner publishes through Racecar::Instrumenter, as a
# subscriber (the liveness probe, Datadog, an application) sees them.
RSpec.describe "Consumer instrumentation", :kafka do
  BASE_KEYS = %i[consumer_class client_id group_id].freeze

  let(:instrumenter) { quiet_instrumenter }
  let(:events) { [] }

  before do
    instrumenter.subscribe(/\.racecar\z/) do |name, payload, duration|
      events << [name.delete_suffix(".racecar"), payload.dup, duration]
    end
  end

  def named(name)
    events.select { |event_name, _, _| event_name == name }
  end

  def names
    events.map(&:first)
  end

  it "publishes the life of a process consumer, with each event's payload" do
    topic = create_topic
    created = Time.at(1_700_000_300, 5, :millisecond)
    produce_messages(topic, [{ value: "v0", key: "k0", headers: { "h" => "1" }, create_time: (created.to_r * 1000).to_i },
                             { value: "v1" }])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| sleep 0.05 }
    end
    running = start_consumer(klass.new, config: spec_config(client_id: "instrumented"), instrumenter: instrumenter)
    eventually(message: "two process_message events") { named("process_message").size == 2 }
    running.stop

    expect(names.first).to eq("start_main_loop")
    expect(names.last).to eq("shut_down")
    expect(names.index("join_group")).to be < names.index("partitions_assigned")
    expect(names.index("partitions_assigned")).to be < names.index("start_process_message")
    expect(names.last(3)).to eq(%w[partitions_revoked leave_group shut_down])

    base = { consumer_class: klass.name, client_id: "instrumented", group_id: klass.group_id }
    events.each { |_, payload, _| expect(payload).to include(base) }
    expect(named("partitions_assigned").first[1]).to eq(base.merge(partitions: [0], topic_partitions: { topic => [0] }))
    expect(named("partitions_revoked").first[1]).to eq(base.merge(partitions: [0], topic_partitions: { topic => [0] }))

    first, second = named("process_message")
    expect(first[1]).to eq(base.merge(topic: topic, partition: 0, offset: 0, create_time: created, key: "k0", value: "v0",
                                      headers: { "h" => "1" }, retries_count: 0))
    expect(second[1]).to include(offset: 1, key: nil, value: "v1", headers: {})
    expect(first[2]).to be >= 0.05
    expect(named("start_process_message").map { |_, payload, _| payload[:offset] }).to eq([0, 1])
    expect(named("main_loop").size).to be >= 2
  end

  it "publishes start_process_batch and process_batch with the batch's payload" do
    topic = create_topic
    produce_messages(topic, (0..2).map { |i| { value: i.to_s, create_time: 1_700_000_400_000 + i } })
    klass = define_consumer do
      subscribes_to topic
      define_method(:process_batch) { |_messages| nil }
    end
    start_consumer(klass.new, instrumenter: instrumenter)
    eventually(message: "a process_batch event") { named("process_batch").any? }

    expect(named("start_process_batch").size).to eq(1)
    expect(named("process_batch").first[1]).to include(topic: topic, partition: 0, first_offset: 0, last_offset: 2,
                                                       last_create_time: Time.at(1_700_000_400, 2, :millisecond),
                                                       message_count: 3, retries_count: 0)
  end

  it "records an exception raised by process in the process_message payload" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| raise ArgumentError, "nope" }
    end
    start_consumer(klass.new, config: spec_config(pause_timeout: -1), instrumenter: instrumenter)
    eventually(message: "a process_message event") { named("process_message").any? }

    payload = named("process_message").first[1]
    expect(payload[:exception]).to eq(["ArgumentError", "nope"])
    expect(payload[:exception_object]).to be_a(ArgumentError)
  end

  it "reports a paused partition in pause_status events, with how long it has been paused" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| raise "paused" }
    end
    start_consumer(klass.new, config: spec_config(pause_timeout: -1), instrumenter: instrumenter)
    eventually(message: "a pause of a second") { named("pause_status").any? { |_, p, _| p[:duration] > 1 } }

    payloads = named("pause_status").map { |_, payload, _| payload }
    expect(payloads).to all(include(topic: topic, partition: 0))
    durations = payloads.map { |payload| payload[:duration] }
    expect(durations).to eq(durations.sort)
  end

  it "publishes no per-message or per-loop events, and builds no payload for them, when nobody listens" do
    recorder = Class.new(Racecar::Instrumenter) do
      attr_reader :published

      def instrument(name, payload = nil, &block)
        (@published ||= []) << name.to_s
        super
      end
    end.new(backend: nil)
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    processed = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message }
    end
    start_consumer(klass.new, instrumenter: recorder).tap { eventually(message: "the message") { processed.any? } }.stop

    expect(recorder.published & %w[main_loop start_process_message process_message pause_status join_group
                                   partitions_assigned partitions_revoked]).to be_empty
  end
end
