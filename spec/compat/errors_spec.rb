# frozen_string_literal: true

require "json"
require "tmpdir"
require_relative "../support/consumer_helpers"
require_relative "../support/cli"

# Upstream Racecar 2.12's on_error contract (UPSTREAM-CONTRACT §4.2, §4.5,
# §4.7): the info keys of a processing error, unrecoverable_delivery_error,
# and the crash path that calls the handler with the exception alone.
RSpec.describe "Upstream on_error", :kafka do
  SINGLE_KEYS = %i[consumer_class topic partition offset create_time key value headers retries_count
                   unrecoverable_delivery_error].freeze
  BATCH_KEYS = %i[consumer_class topic partition first_offset last_offset last_create_time message_count
                  retries_count unrecoverable_delivery_error].freeze

  let(:reports) { Queue.new }

  def first_report
    Timeout.timeout(30) { reports.pop }
  end

  it "gives a failing process(message) upstream's info keys (plus message_count)" do
    topic = create_topic
    produce_messages(topic, [{ value: "v", key: "k", headers: { "h" => "1" } }])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| raise ArgumentError, "bad message" }
    end
    config = spec_config(pause_timeout: -1)
    config.on_error { |exception, info| reports << [exception, info] }
    start_consumer(klass.new, config: config)

    exception, info = first_report
    expect(exception).to be_a(ArgumentError)
    expect(info.keys).to include(*SINGLE_KEYS)
    expect(info.keys - SINGLE_KEYS).to eq([:message_count])
    expect(info).to include(consumer_class: klass.name, topic: topic, partition: 0, offset: 0, key: "k", value: "v",
                            headers: { "h" => "1" }, retries_count: 0, unrecoverable_delivery_error: false)
  end

  it "gives a failing process_batch(messages) exactly upstream's info keys" do
    topic = create_topic
    produce_messages(topic, %w[a b c])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process_batch) { |_messages| raise ArgumentError, "bad batch" }
    end
    config = spec_config(pause_timeout: -1)
    config.on_error { |exception, info| reports << [exception, info] }
    start_consumer(klass.new, config: config)

    _, info = first_report
    expect(info.keys).to match_array(BATCH_KEYS)
    expect(info).to include(consumer_class: klass.name, topic: topic, partition: 0, first_offset: 0,
                            unrecoverable_delivery_error: false)
  end

  it "sets unrecoverable_delivery_error when what process produced timed out (msg_timed_out)" do
    topic = create_topic
    produce_messages(topic, %w[x])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| produce(message.value, topic: "never-delivered") }
    end
    config = spec_config(pause_timeout: -1, message_timeout: 1)
    config.producer = ["bootstrap.servers=127.0.0.1:1"] # a producer that reaches no broker
    config.on_error { |exception, info| reports << [exception, info] }
    start_consumer(klass.new, config: config)

    exception, info = first_report
    expect(exception).to be_a(Racecar::MessageDeliveryError)
    expect(exception.code).to eq(:msg_timed_out)
    expect(info).to include(consumer_class: klass.name, unrecoverable_delivery_error: true)
  end

  it "calls a one-argument lambda handler with the exception, as upstream's crash path does" do
    topic = create_topic
    produce_messages(topic, %w[x])
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |_message| raise ArgumentError, "bad message" }
    end
    config = spec_config(pause_timeout: -1)
    config.on_error(&->(exception) { reports << exception })
    start_consumer(klass.new, config: config)

    expect(first_report).to be_a(ArgumentError)
  end

  describe "a crash at start, through exe/racecar", :cli, :cli_integration do
    around do |example|
      Dir.mktmpdir("racecar-compat-errors") do |dir|
        @app = dir
        example.run
      end
    end

    # An app whose consumer's initialize raises (with a cause), and whose
    # config/racecar.rb installs `handler_source` as on_error.
    def write_app(handler_source)
      FileUtils.mkdir_p(File.join(@app, "config"))
      File.write(File.join(@app, "consumers.rb"), <<~RUBY)
        class CompatCrashingConsumer < Racecar::Consumer
          subscribes_to "compat-never-consumed"

          def initialize
            super
            begin
              raise IOError, "disk on fire"
            rescue IOError
              raise ArgumentError, "cannot start the consumer"
            end
          end

          def process(_message); end
        end

        # Runs, then dies of an exception racecar does not retry.
        class CompatDyingConsumer < Racecar::Consumer
          subscribes_to ENV.fetch("SPEC_TOPIC", "compat-never-consumed")

          def process(_message)
            raise NoMemoryError, "out of memory in process"
          end
        end
      RUBY
      File.write(File.join(@app, "config", "racecar.rb"), <<~RUBY)
        require "json"
        REPORTS = File.join(__dir__, "..", "reports.jsonl")
        Racecar.configure do |config|
          config.on_error(&#{handler_source})
        end
      RUBY
    end

    def reports_written
      path = File.join(@app, "reports.jsonl")
      File.exist?(path) ? File.readlines(path).map { |line| JSON.parse(line) } : []
    end

    it "calls on_error once with nil info for an exception that escapes the running consumer" do
      topic = create_topic
      produce_messages(topic, %w[x])
      write_app('proc { |e, info| File.open(REPORTS, "a") { |f| f.puts JSON.dump([e.class.name, e.message, info]) } }')
      racecar = start_racecar("--require", "./consumers", "--without-rails", "--max-wait-time", "0.2",
                              "CompatDyingConsumer", env: { "SPEC_TOPIC" => topic }, chdir: @app)
      expect(racecar.wait(timeout: 60)&.exitstatus).to eq(1), racecar.describe
      expect(reports_written).to eq([["NoMemoryError", "out of memory in process", nil]])
      expect(racecar.stderr).to match(/^=> Crashed: NoMemoryError: out of memory in process\n.*consumers\.rb:\d+/)
    end

    it "calls on_error with nil info when a parallel worker crashes at start, and exits 1" do
      write_app('proc { |e, info| File.open(REPORTS, "a") { |f| f.puts JSON.dump([e.class.name, e.message, info]) } }')
      racecar = start_racecar("--require", "./consumers", "--without-rails", "--parallel-workers", "2",
                              "CompatCrashingConsumer", chdir: @app)
      expect(racecar.wait(timeout: 60)&.exitstatus).to eq(1), racecar.describe
      expect(reports_written).not_to be_empty
      expect(reports_written.uniq).to eq([["ArgumentError", "cannot start the consumer", nil]])
    end

    {
      "a block taking (exception, info)" =>
        'proc { |e, info| File.open(REPORTS, "a") { |f| f.puts JSON.dump([e.class.name, e.message, info]) } }',
      "a lambda taking (exception)" =>
        '->(e) { File.open(REPORTS, "a") { |f| f.puts JSON.dump([e.class.name, e.message, nil]) } }',
      "a lambda taking (exception, info)" =>
        '->(e, info) { File.open(REPORTS, "a") { |f| f.puts JSON.dump([e.class.name, e.message, info]) } }',
    }.each do |shape, handler|
      it "calls on_error once with the exception and nil info (handler: #{shape}) and prints upstream's crash text" do
        write_app(handler)
        racecar = start_racecar("--require", "./consumers", "--without-rails", "CompatCrashingConsumer", chdir: @app)
        expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1), racecar.describe
        expect(reports_written).to eq([["ArgumentError", "cannot start the consumer", nil]])
        expect(racecar.stderr).to match(
          /^=> Crashed: ArgumentError: cannot start the consumer\n--- Caused by: ---\nIOError: disk on fire\n.*consumers\.rb:\d+/
        )
      end
    end
  end
end
