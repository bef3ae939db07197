# frozen_string_literal: true

require_relative "../support/child_process"

# Arguments that C cannot take as they are: a non-Hash where a Hash is
# expected, a conversion that calls initialize again, NaN where a number of
# seconds is converted to milliseconds, counts that would overflow an
# allocation size. Each is refused with an ordinary Ruby error that names the
# argument, instead of undefined behaviour. The calls that used to corrupt
# memory run in a forked child (see ChildProcess).
RSpec.describe "Native methods given numbers and shapes C cannot take", :kafka do
  include ChildProcess

  let(:properties) { { "bootstrap.servers" => brokers, "group.id" => unique_name("numeric-args") } }

  # Answers the calls Consumer#run makes, doing nothing.
  let(:idle_dispatcher) do
    Class.new do
      def deliver; end
      def handle_failure(*); end
      def handle_events(_events); end
      def after_loop(_count); end
      def process(_message); end
    end.new
  end

  describe "Native::Consumer.new" do
    it "refuses start_positions that is not a Hash" do
      result = in_child { Racecar::Native::Consumer.new(properties, start_positions: [["t", true]]) }

      expect(result).to match([:raised, "TypeError", /start_positions must be a Hash/])
    end

    it "refuses a second initialize run by a start position's to_s, keeping the first consumer" do
      result = in_child do
        consumer = Racecar::Native::Consumer.allocate
        inner = properties
        reentrant = Object.new
        reentrant.define_singleton_method(:to_s) do
          consumer.send(:initialize, inner, start_positions: { "a" => true, "b" => false, "c" => true })
          "outer"
        end
        begin
          consumer.send(:initialize, properties, start_positions: { reentrant => true })
          :initialized_twice
        rescue Racecar::Error => e
          consumer.close
          [e.class.name, e.message, consumer.closed?]
        end
      end

      expect(result).to match([:returned, ["Racecar::Error", /already initialized/, true]])
    end

    it "starts afresh after an initialize that raised once its start positions were read" do
      result = in_child do
        consumer = Racecar::Native::Consumer.allocate
        many = (1..16).to_h { |i| ["topic-#{i}", i.odd?] }
        begin
          consumer.send(:initialize, properties.merge("no.such.property" => "1"), start_positions: many)
        rescue Racecar::ConfigError
          nil
        end
        consumer.send(:initialize, properties, start_positions: { "again" => true })
        GC.start # frees what the first attempt left
        consumer.close
        consumer.closed?
      end

      expect(result).to eq([:returned, true])
    end

    %w[pause_timeout max_pause_timeout commit_interval].each do |option|
      it "refuses NaN as #{option}, naming it" do
        expect { Racecar::Native::Consumer.new(properties, option.to_sym => Float::NAN) }
          .to raise_error(ArgumentError, "#{option} must be a number of seconds, not NaN")
      end
    end

    it "takes Infinity and huge Floats as pause timeouts (pausing for good)" do
      consumer = Racecar::Native::Consumer.new(properties, pause_timeout: Float::INFINITY,
                                                           max_pause_timeout: 1e300)
      expect(consumer.closed?).to be(false)
    ensure
      consumer&.close
    end
  end

  describe "Native::Consumer#run and #poll_batch" do
    # Runs consumer.run with the arguments on a thread; returns what it
    # raised, or stops it and fails when it ran instead.
    def run_refusal(consumer, fetch_messages, max_wait_time)
      consumer.dispatch_to(idle_dispatcher, :process)
      thread = Thread.new { consumer.run(idle_dispatcher, fetch_messages, max_wait_time, false) }
      thread.report_on_exception = false
      unless thread.join(10)
        consumer.stop
        thread.join(30)
        raise "run(#{fetch_messages}, #{max_wait_time}) ran instead of refusing its arguments"
      end
      thread.value
      nil
    rescue StandardError => e
      e
    end

    it "refuses NaN as max_wait_time" do
      consumer = Racecar::Native::Consumer.new(properties)
      error = run_refusal(consumer, 10, Float::NAN)

      expect(error).to be_a(ArgumentError).and(have_attributes(message: "max_wait_time must be a number of seconds, not NaN"))
    ensure
      consumer&.close
    end

    it "refuses a fetch_messages whose batch could not be allocated, and one below 1" do
      consumer = Racecar::Native::Consumer.new(properties)

      expect(run_refusal(consumer, 2**62, 0.1)).to be_a(ArgumentError)
        .and(have_attributes(message: "fetch_messages must be between 1 and 2147483647, got #{2**62}"))
      expect(run_refusal(consumer, 0, 0.1)).to be_a(ArgumentError)
        .and(have_attributes(message: "fetch_messages must be between 1 and 2147483647, got 0"))
    ensure
      consumer&.close
    end

    it "refuses a poll_batch size whose batch could not be allocated" do
      topic = create_topic
      produce_messages(topic, (1..64).map { |i| "message #{i}" })
      result = in_child do
        consumer = Racecar::Native::Consumer.new(properties.merge("auto.offset.reset" => "earliest"))
        consumer.subscribe([topic])
        consumer.poll_batch(2**62, 10_000)
      end

      expect(result).to eq([:raised, "ArgumentError", "max_messages must be between 1 and 2147483647, got #{2**62}"])
    end
  end

  describe "waits of the producer" do
    let(:producer) { Racecar::Native::Producer.new("bootstrap.servers" => brokers) }

    after { producer.close(1) }

    it "refuses NaN as DeliveryTracker#wait's timeout" do
      expect { Racecar::Native::DeliveryTracker.new.wait(Float::NAN) }
        .to raise_error(ArgumentError, "timeout must be a number of seconds, not NaN")
    end

    it "takes a negative DeliveryTracker#wait timeout as no wait at all" do
      # Nothing listens there: the message stays pending until its 5 s timeout.
      unreachable = Racecar::Native::Producer.new("bootstrap.servers" => "127.0.0.1:1", "message.timeout.ms" => "5000")
      tracker = Racecar::Native::DeliveryTracker.new
      unreachable.produce("t", "v", nil, nil, nil, nil, tracker)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)

      expect(tracker.wait(-1e12)).to be(false)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 1
    ensure
      unreachable&.close(0)
    end

    it "refuses NaN as Producer#wait_for_report's timeout" do
      expect { producer.wait_for_report(Float::NAN) }
        .to raise_error(ArgumentError, "timeout must be a number of seconds, not NaN")
    end
  end
end
