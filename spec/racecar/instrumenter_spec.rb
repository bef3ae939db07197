# frozen_string_literal: true

require "json"
require "open3"
require "rbconfig"
require "securerandom"
require "active_support"
require "active_support/notifications"
require "racecar/instrumenter"

RSpec.describe Racecar::Instrumenter do
  # Event names unique per example: ActiveSupport's notifier is global.
  let(:name) { "spec_event_#{SecureRandom.hex(6)}" }
  let(:full_name) { "#{name}.racecar" }
  let(:as_events) { [] }
  let(:as_handles) { [] }

  after do
    as_handles.each { |handle| ActiveSupport::Notifications.unsubscribe(handle) }
  end

  def subscribe_as(event_name)
    as_handles << ActiveSupport::Notifications.subscribe(event_name) do |*args|
      as_events << ActiveSupport::Notifications::Event.new(*args)
    end
  end

  context "with ActiveSupport::Notifications loaded" do
    subject(:instrumenter) { described_class.new }

    it "uses ActiveSupport::Notifications as its backend by default" do
      expect(instrumenter.backend).to be(ActiveSupport::Notifications)
    end

    it "publishes '<name>.racecar' to ActiveSupport subscribers with the payload" do
      subscribe_as(full_name)

      instrumenter.instrument(name, topic: "greetings", partition: 3) { :processed }

      expect(as_events.map(&:name)).to eq([full_name])
      expect(as_events.first.payload).to eq(topic: "greetings", partition: 3)
    end

    it "times the block for ActiveSupport subscribers" do
      subscribe_as(full_name)

      instrumenter.instrument(name, {}) { sleep 0.05 }

      expect(as_events.first.duration).to be >= 45 # milliseconds
    end

    it "returns the block's value when someone listens" do
      subscribe_as(full_name)

      expect(instrumenter.instrument(name, {}) { 42 }).to eq(42)
    end

    it "also calls in-process subscribers, with the duration in seconds" do
      subscribe_as(full_name)
      received = []
      instrumenter.subscribe(name) { |event_name, payload, duration| received << [event_name, payload, duration] }

      instrumenter.instrument(name, offset: 7) { sleep 0.02 }

      expect(as_events.size).to eq(1)
      expect(received.size).to eq(1)
      event_name, payload, duration = received.first
      expect(event_name).to eq(full_name)
      expect(payload).to eq(offset: 7)
      expect(duration).to be_between(0.015, 5)
    end

    it "records an exception in the payload like ActiveSupport, then re-raises it" do
      subscribe_as(full_name)
      seen = []
      instrumenter.subscribe(name) { |_event, payload, _duration| seen << payload }
      error = RuntimeError.new("boom")

      expect { instrumenter.instrument(name, topic: "t") { raise error } }.to raise_error(error)

      expect(as_events.first.payload).to include(exception: ["RuntimeError", "boom"], exception_object: error)
      expect(seen.first).to include(exception: ["RuntimeError", "boom"], exception_object: error)
    end

    it "is listening only while an ActiveSupport subscriber exists" do
      expect(instrumenter.listening?(name)).to be(false)

      handle = ActiveSupport::Notifications.subscribe(full_name) { |*| nil }
      expect(instrumenter.listening?(name)).to be(true)

      ActiveSupport::Notifications.unsubscribe(handle)
      expect(instrumenter.listening?(name)).to be(false)
    end

    it "follows ActiveSupport regexp subscriptions" do
      as_handles << ActiveSupport::Notifications.subscribe(/\A#{name}\.racecar\z/) { |*| nil }

      expect(instrumenter.listening?(name)).to be(true)
    end

    it "just yields when nobody listens, building no payload" do
      yielded = :not_called

      result = instrumenter.instrument(name) { |payload| yielded = payload; :value }

      expect(result).to eq(:value)
      expect(yielded).to be_nil
    end

    it "answers listening? without allocating objects" do
      handle = ActiveSupport::Notifications.subscribe(full_name) { |*| nil }
      as_handles << handle
      instrumenter.listening?(name) # warm both caches
      instrumenter.listening?(:other_event)

      before = GC.stat(:total_allocated_objects)
      1_000.times do
        instrumenter.listening?(name)
        instrumenter.listening?(:other_event)
      end
      allocated = GC.stat(:total_allocated_objects) - before

      expect(allocated).to be < 10
    end
  end

  context "with an explicit nil backend (no ActiveSupport)" do
    subject(:instrumenter) { described_class.new(backend: nil) }

    it "does not publish to ActiveSupport even though it is loaded" do
      subscribe_as(full_name)

      instrumenter.instrument(name, {}) { nil }

      expect(as_events).to be_empty
      expect(instrumenter.listening?(name)).to be(false)
    end
  end

  describe "in-process subscriptions" do
    subject(:instrumenter) { described_class.new(backend: nil) }

    it "accepts the short or the full event name" do
      calls = []
      instrumenter.subscribe(name) { calls << :short }
      instrumenter.subscribe(full_name) { calls << :full }

      instrumenter.instrument(name)

      expect(calls).to contain_exactly(:short, :full)
    end

    it "matches a Regexp against full event names" do
      names = []
      instrumenter.subscribe(/\Aprocess_(message|batch)\.racecar\z/) { |event_name, *| names << event_name }

      instrumenter.instrument("process_message", {})
      instrumenter.instrument("process_batch", {})
      instrumenter.instrument("main_loop", {})

      expect(names).to eq(["process_message.racecar", "process_batch.racecar"])
    end

    it "sees every event when subscribed without a name" do
      names = []
      instrumenter.subscribe { |event_name, *| names << event_name }

      instrumenter.instrument(:join_group)
      instrumenter.instrument(:leave_group)

      expect(names).to eq(["join_group.racecar", "leave_group.racecar"])
    end

    it "hands an empty payload to subscribers when the caller passed none" do
      payloads = []
      instrumenter.subscribe(name) { |_event, payload, _duration| payloads << payload }

      instrumenter.instrument(name)

      expect(payloads).to eq([{}])
    end

    it "reports a zero duration for an event published without a block" do
      durations = []
      instrumenter.subscribe(name) { |_event, _payload, duration| durations << duration }

      instrumenter.instrument(name, partition: 1)

      expect(durations).to eq([0.0])
    end

    it "copies a frozen payload before recording an exception in it" do
      payloads = []
      instrumenter.subscribe(name) { |_event, payload, _duration| payloads << payload }

      expect { instrumenter.instrument(name, { topic: "t" }.freeze) { raise ArgumentError, "bad" } }
        .to raise_error(ArgumentError, "bad")
      expect(payloads.first).to include(topic: "t", exception: ["ArgumentError", "bad"])
    end

    it "refreshes listening? when subscriptions change" do
      expect(instrumenter.listening?(name)).to be(false)

      handle = instrumenter.subscribe(name) { nil }
      expect(instrumenter.listening?(name)).to be(true)
      expect(instrumenter.listening?("#{name}_other")).to be(false)

      instrumenter.unsubscribe(handle)
      expect(instrumenter.listening?(name)).to be(false)
    end

    it "stops calling a subscriber after unsubscribe and keeps the others" do
      calls = []
      first = instrumenter.subscribe(name) { calls << :first }
      instrumenter.subscribe(name) { calls << :second }

      instrumenter.unsubscribe(first)
      instrumenter.instrument(name)

      expect(calls).to eq([:second])
    end
  end

  # Runs a script in a separate Ruby (this process has ActiveSupport loaded
  # already) and returns the JSON it printed.
  def json_from_fresh_ruby(script)
    lib = File.expand_path("../../lib", __dir__)
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", lib, "-e", script)
    expect(status).to be_success, err
    JSON.parse(out)
  end

  it "serves in-process subscribers and is otherwise a no-op when ActiveSupport was never loaded" do
    script = <<~RUBY
      require "json"
      require "racecar/instrumenter"
      instrumenter = Racecar::Instrumenter.new
      result = { "active_support_loaded" => !defined?(::ActiveSupport).nil?, "backend" => instrumenter.backend.inspect }
      result["listening_before"] = instrumenter.listening?(:process_message)
      result["silent_value"] = instrumenter.instrument(:process_message) { |payload| payload.inspect }
      seen = []
      instrumenter.subscribe(:process_message) do |name, payload, duration|
        seen << [name, payload, duration.is_a?(Float)]
      end
      result["listening_after"] = instrumenter.listening?(:process_message)
      result["value"] = instrumenter.instrument(:process_message, offset: 1) { :done }
      begin
        instrumenter.instrument(:process_message, offset: 2) { raise "kaput" }
      rescue RuntimeError => e
        result["reraised"] = e.message
      end
      result["seen"] = seen.map { |name, payload, float| [name, payload[:offset], payload[:exception], float] }
      puts JSON.generate(result)
    RUBY

    expect(json_from_fresh_ruby(script)).to eq(
      "active_support_loaded" => false,
      "backend" => "nil",
      "listening_before" => false,
      "silent_value" => "nil",
      "listening_after" => true,
      "value" => "done",
      "reraised" => "kaput",
      "seen" => [
        ["process_message.racecar", 1, nil, true],
        ["process_message.racecar", 2, ["RuntimeError", "kaput"], true]
      ]
    )
  end

  # listening? remembers that nobody listens until a file is required; an
  # application that loads ActiveSupport late must still be heard.
  it "hears an ActiveSupport subscriber when ActiveSupport is loaded after listening? found nobody" do
    script = <<~RUBY
      require "json"
      require "racecar/instrumenter"
      instrumenter = Racecar::Instrumenter.new
      result = { "before" => 2.times.map { instrumenter.listening?(:produce_async) } }
      require "active_support/notifications"
      result["loaded_no_subscriber"] = instrumenter.listening?(:produce_async)
      events = []
      ActiveSupport::Notifications.subscribe("produce_async.racecar") { |name, *| events << name }
      result["subscribed"] = instrumenter.listening?(:produce_async)
      instrumenter.instrument(:produce_async, topic: "t")
      result["events"] = events
      puts JSON.generate(result)
    RUBY

    expect(json_from_fresh_ruby(script)).to eq(
      "before" => [false, false], "loaded_no_subscriber" => false, "subscribed" => true,
      "events" => ["produce_async.racecar"]
    )
  end

  it "hears a racecar subscriber added after listening? found nobody" do
    instrumenter = described_class.new(backend: nil)
    expect(instrumenter.listening?(:produce_async)).to be(false)
    expect(instrumenter.listening?(:produce_async)).to be(false)

    handle = instrumenter.subscribe(:produce_async) { |*| nil }
    expect(instrumenter.listening?(:produce_async)).to be(true)

    instrumenter.unsubscribe(handle)
    expect(instrumenter.listening?(:produce_async)).to be(false)
  end
end
