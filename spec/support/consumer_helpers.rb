# frozen_string_literal: true

require "securerandom"

# Helpers for the consumer integration specs: consumer classes with unique
# groups, runners on background threads that the spec can watch, stop and
# restart, and a look at the offsets a group has committed.
module ConsumerHelpers
  # A Racecar::Runner running on its own thread.
  class RunningConsumer
    attr_reader :runner, :consumer, :thread, :config

    def initialize(consumer, config:, instrumenter:)
      @consumer = consumer
      @config = config
      producer = Racecar::Producer.new(config: config, logger: config.logger, instrumenter: instrumenter)
      @runner = Racecar::Runner.new(consumer, config: config, logger: config.logger, instrumenter: instrumenter,
                                              producer: producer)
      @thread = Thread.new { @runner.run }
      @thread.report_on_exception = false
    end

    def alive?
      @thread.alive?
    end

    # The exception the runner died of, or nil while it runs or after a clean stop.
    def error
      return nil if @thread.alive?

      @thread.value
      nil
    rescue Exception => e # rubocop:disable Lint/RescueException -- reported to the spec
      e
    end

    # Stops the runner; returns the seconds it took to finish.
    def stop(timeout: 30)
      started = ConsumerHelpers.now
      @runner.stop
      raise "runner did not stop within #{timeout}s" unless @thread.join(timeout)

      ConsumerHelpers.now - started
    end
  end

  def self.now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # A named consumer class (stubbed constant) in a group of its own.
  def define_consumer(name = "Spec#{SecureRandom.hex(4).upcase}Consumer", group_id: unique_name("group"), &body)
    klass = Class.new(Racecar::Consumer)
    stub_const(name, klass)
    klass.group_id = group_id if group_id
    klass.class_eval(&body) if body
    klass
  end

  def quiet_instrumenter
    Racecar::Instrumenter.new(backend: nil)
  end

  # Starts a runner for the instance; it is stopped after the example.
  def start_consumer(consumer, config: spec_config, instrumenter: quiet_instrumenter)
    config.load_consumer_class(consumer.class)
    running = RunningConsumer.new(consumer, config: config, instrumenter: instrumenter)
    started_consumers << running
    running
  end

  def started_consumers
    @started_consumers ||= []
  end

  def stop_started_consumers
    started_consumers.each do |running|
      running.stop if running.alive?
    rescue StandardError => e
      warn "could not stop a spec consumer: #{e.message}"
    end
  end

  # Waits until the block is truthy; fails with the runner's own error when
  # one of the given consumers died meanwhile.
  def eventually(timeout: 20, message: "condition", watch: started_consumers)
    deadline = ConsumerHelpers.now + timeout
    loop do
      result = yield
      return result if result

      dead = watch.find { |running| !running.alive? && running.error }
      raise dead.error if dead
      raise "timed out after #{timeout}s waiting for #{message}" if ConsumerHelpers.now > deadline

      sleep 0.02
    end
  end

  # Waits until the runner on `thread` is blocked in its poll: the native run
  # loop is the innermost frame (no Ruby `process` call above it) and the
  # thread sleeps without the GVL. A stop, signal or kill sent next meets an
  # idle poll, which is what the shutdown specs are about.
  def await_idle_poll(thread, timeout: 20)
    deadline = ConsumerHelpers.now + timeout
    until thread.status == "sleep" && thread.backtrace&.first.to_s.match?(%r{racecar/runner\.rb:\d+:in `run'})
      raise "the runner never blocked in an idle poll: #{thread.status.inspect} #{thread.backtrace&.first(3)}" if
        ConsumerHelpers.now > deadline || !thread.alive?

      Thread.pass
    end
  end

  # Offsets the group has committed for the topic, by partition (nil: none).
  def committed_offsets(group_id, topic, partitions)
    reader = Racecar::Native::Consumer.new({ "bootstrap.servers" => brokers, "group.id" => group_id })
    begin
      reader.committed({ topic => Array(partitions) }, 10).fetch(topic)
    ensure
      reader.close
    end
  end

  # Values the spec produces, with a payload that says where they went.
  def fill_partitions(topic, partitions:, per_partition:)
    messages = []
    per_partition.times do |i|
      partitions.times { |p| messages << { value: "p#{p}-#{i}", partition: p, key: "k#{i}" } }
    end
    produce_messages(topic, messages)
    messages
  end
end

RSpec.configure do |config|
  config.include ConsumerHelpers, :kafka
  config.after(:example, :kafka) { stop_started_consumers }
end
