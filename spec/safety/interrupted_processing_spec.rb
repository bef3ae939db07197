# frozen_string_literal: true

require "timeout"
require_relative "../support/consumer_helpers"

# An interrupt that is not a StandardError, delivered while process or
# process_batch runs, is not a processing failure: no pause, no retry, no
# on_error. It leaves the runner at once (so an outer Timeout.timeout ends),
# and nothing of the interrupted messages is stored or committed.
#
# Ruby 3.3's Timeout raises Timeout::ExitException (an Exception, not a
# StandardError) into the block; Ruby 3.1's throws instead. Both are covered:
# Timeout.timeout with an Exception subclass as its class raises exactly the
# way 3.3 does on every Ruby, and a plain Timeout.timeout is whichever this
# Ruby does.
RSpec.describe "Interrupting a consumer while it processes", :kafka do
  # Shaped like Timeout::ExitException: an Exception, not a StandardError.
  class SpecExitInterrupt < Exception; end # rubocop:disable Lint/InheritException

  BOUND = 20 # seconds the runner may take to leave once interrupted

  let(:topic) { create_topic }
  let(:errors) { Queue.new }
  let(:calls) { Queue.new } # [offset or offsets] of every process / process_batch call
  let(:config) { spec_config(pause_timeout: 0.5).tap { |c| c.on_error { |e, _info| errors << e } } }

  before { produce_messages(topic, %w[zero one two]) }

  # Processes offset 0, then sleeps in offset 1 until interrupted.
  def stalling_consumer(batch: false)
    calls = self.calls
    topic = self.topic
    define_consumer do
      subscribes_to topic
      if batch
        define_method(:process_batch) do |messages|
          calls << messages.map(&:offset)
          sleep
        end
      else
        define_method(:process) do |message|
          calls << message.offset
          sleep if message.offset == 1
        end
      end
    end
  end

  # Runs the consumer on a thread inside the block given (which wraps
  # runner.run); returns [how the thread ended, seconds it took]. A runner
  # that does not end within timeout + BOUND is killed and the example fails.
  def run_wrapped(consumer, timeout, &wrapper)
    config.load_consumer_class(consumer.class)
    producer = Racecar::Producer.new(config: config, logger: config.logger, instrumenter: quiet_instrumenter)
    runner = Racecar::Runner.new(consumer, config: config, logger: config.logger, instrumenter: quiet_instrumenter,
                                           producer: producer)
    started = ConsumerHelpers.now
    thread = Thread.new do
      wrapper.call(runner)
      :returned
    rescue Exception => e # rubocop:disable Lint/RescueException -- what ended the run is the result
      e
    end
    thread.report_on_exception = false
    unless thread.join(timeout + BOUND)
      thread.kill
      thread.join(30)
      raise "the runner was still running #{timeout + BOUND}s after it was interrupted " \
            "(process calls: #{drain(calls).inspect}, on_error: #{drain(errors).map(&:class).inspect})"
    end
    [thread.value, ConsumerHelpers.now - started]
  ensure
    producer&.close
  end

  def drain(queue)
    Array.new(queue.size) { queue.pop }
  end

  def committed
    committed_offsets(config.group_id, topic, 0)[0]
  end

  it "lets a Timeout.timeout raising an Exception subclass (as Ruby 3.3's does) end a run stalled in process" do
    ended, seconds = run_wrapped(stalling_consumer.new, 10) do |runner|
      Timeout.timeout(10, SpecExitInterrupt) { runner.run }
    end

    expect(ended).to be_a(SpecExitInterrupt)
    expect(seconds).to be < 10 + BOUND
    expect(drain(calls)).to eq([0, 1]) # reached offset 1 once: no retry
    expect(drain(errors)).to be_empty
    expect(committed).to be_nil.or(be <= 1)
  end

  it "lets a plain Timeout.timeout end a run stalled in process" do
    ended, seconds = run_wrapped(stalling_consumer.new, 10) { |runner| Timeout.timeout(10) { runner.run } }

    expect(ended).to be_a(Timeout::Error)
    expect(seconds).to be < 10 + BOUND
    expect(drain(calls)).to eq([0, 1])
    expect(drain(errors)).to be_empty
    expect(committed).to be_nil.or(be <= 1)
  end

  it "lets an Exception raised into the runner's thread end a run stalled in process_batch, storing nothing" do
    consumer = stalling_consumer(batch: true).new
    calls = self.calls
    ended, = run_wrapped(consumer, 0) do |runner|
      runner_thread = Thread.current
      Thread.new do
        calls.pop.tap { |first| calls << first } # the batch is being processed
        runner_thread.raise(SpecExitInterrupt, "stop")
      end
      runner.run
    end

    expect(ended).to be_a(SpecExitInterrupt)
    expect(drain(calls).size).to eq(1) # the batch was not retried
    expect(drain(errors)).to be_empty
    expect(committed).to be_nil
  end
end
