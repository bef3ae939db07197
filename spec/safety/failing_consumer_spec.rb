# frozen_string_literal: true

require "stringio"
require_relative "../support/consumer_helpers"

# User code that raises what a `rescue => e` would not catch. Only a
# StandardError is a processing failure (pause, retry); any other Exception (a
# bare `raise Exception`, NotImplementedError, Interrupt, exit; also Ruby 3.3's
# Timeout::ExitException, see interrupted_processing_spec.rb) means "stop
# now", as with upstream Racecar: the runner ends with it, commits nothing it
# did not finish, and the next run processes the message again. A teardown
# that raises a StandardError is logged; shutdown still commits and leaves the
# group.
RSpec.describe "A consumer whose code raises non-StandardError exceptions", :kafka do
  include ConsumerHelpers

  after { stop_started_consumers }

  let(:log) { StringIO.new }
  let(:config) do
    config = spec_config(offset_commit_interval: 600) # only the shutdown commit counts
    config.logger = Logger.new(log)
    config
  end

  def three_messages
    topic = create_topic
    produce_messages(topic, %w[zero one two].map { |value| { value: value } })
    topic
  end

  # A consumer that raises `error` the first time it sees offset 1.
  def failing_once(topic, error, attempts)
    define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        attempts << [message.offset, message.retries_count]
        raise error if message.offset == 1 && message.retries_count.zero?
      end
    end
  end

  # Interrupt and exit leave the runner's thread for the main thread (that is
  # what they are for), so these runners run on the main thread of a forked
  # child, like `racecar` does. Returns what escaped run and the attempts.
  def run_in_child(klass, attempts)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      outcome = begin
        config.load_consumer_class(klass)
        producer = Racecar::Producer.new(config: config, logger: config.logger, instrumenter: quiet_instrumenter)
        Racecar::Runner.new(klass.new, config: config, logger: config.logger, instrumenter: quiet_instrumenter,
                                       producer: producer).run
        "returned"
      rescue Exception => e # rubocop:disable Lint/RescueException -- what escaped is the point
        e.class.name
      end
      writer.puts(Marshal.dump([outcome, attempts]).unpack1("H*"))
      writer.close
      exit!(0)
    end
    writer.close
    Timeout.timeout(60) { Process.wait(pid) }
    Marshal.load([reader.read.strip].pack("H*")) # rubocop:disable Security/MarshalLoad -- our own child
  ensure
    reader&.close
  end

  [[Interrupt, "Interrupt"], [SystemExit, "exit"], [Exception, "raise Exception"],
   [NotImplementedError, "NotImplementedError (a ScriptError)"]].each do |error, name|
    it "stops the runner on #{name} in process without committing that message, which the next run processes" do
      topic = three_messages
      klass = failing_once(topic, error.new, attempts = [])

      escaped, attempts = run_in_child(klass, attempts)
      expect(escaped).to eq(error.name)
      expect(attempts.map(&:first)).to eq([0, 1])
      committed = committed_offsets(klass.group_id, topic, 0).fetch(0)
      expect(committed.to_i).to be <= 1

      again = []
      restarted = define_consumer(group_id: klass.group_id) do
        subscribes_to topic
        define_method(:process) { |message| again << message.offset }
      end
      start_consumer(restarted.new, config: config)
      eventually(message: "the restarted runner to reach the end") { again.include?(2) }
      expect(again.first).to eq(committed.to_i)
      expect(again).to include(1)
    end
  end

  def teardown_raising(topic, error, processed)
    define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.offset }
      define_method(:teardown) { raise error, "teardown went wrong" }
    end
  end

  [StandardError, ArgumentError].each do |error|
    it "logs a teardown that raises #{error}, and still commits and leaves the group" do
      topic = three_messages
      processed = []
      klass = teardown_raising(topic, error, processed)
      running = start_consumer(klass.new, config: config)
      eventually(message: "the three messages") { processed.size == 3 }

      running.stop
      expect(log.string).to include("teardown raised #{error}: teardown went wrong")
      expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 3)
      # Having left the group, a new member is assigned at once rather than
      # after the old member's session timed out.
      assigned = []
      successor = define_consumer(group_id: klass.group_id) { subscribes_to topic }
      successor.define_method(:process) { |_message| nil }
      successor.on_partitions_assigned { |_event| assigned << ConsumerHelpers.now }
      started = ConsumerHelpers.now
      start_consumer(successor.new, config: spec_config)
      eventually(message: "the successor's assignment") { assigned.any? }
      expect(assigned.first - started).to be < config.session_timeout - 1
    end
  end
end
