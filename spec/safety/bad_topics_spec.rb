# frozen_string_literal: true

require "stringio"
require_relative "../support/consumer_helpers"

# Topics that do not exist or cannot exist. (A consumer whose only topic
# appears later: spec/integration/consumer_errors_spec.rb; producing to a
# missing topic the broker may not create: producer_errors_spec.rb.)
RSpec.describe "Missing and invalid topics", :kafka do
  include ConsumerHelpers

  after { stop_started_consumers }

  it "keeps consuming the topics that exist, warning once about one that does not" do
    topic = create_topic
    missing = unique_name("missing")
    log = StringIO.new
    config = spec_config
    config.logger = Logger.new(log)
    seen = []
    klass = define_consumer do
      subscribes_to missing, topic
      define_method(:process) { |message| seen << message.value }
    end
    running = start_consumer(klass.new, config: config)
    produce_messages(topic, %w[a b c].map { |value| { value: value } })

    eventually(message: "the existing topic's messages") { seen.size == 3 }
    sleep 2 # room for a crash loop or a flood of warnings to show
    expect(running).to be_alive
    expect(seen).to eq(%w[a b c])
    warnings = log.string.lines.grep(/WARN.*Subscribed topic not available: #{Regexp.escape(missing)}:/)
    expect(warnings.size).to eq(1)
  end

  it "fails produce_sync to a topic name the broker rejects at once, naming the topic and the reason" do
    producer = Racecar::Producer.new(config: spec_config, logger: Logger.new(File::NULL),
                                     instrumenter: Racecar::Instrumenter.new(backend: nil))
    started = ConsumerHelpers.now

    expect { producer.produce_sync(value: "x", topic: "not a valid topic name!") }
      .to raise_error(Racecar::MessageDeliveryError) { |error|
        expect(error.code).to eq(:topic_exception)
        expect(error.topic).to eq("not a valid topic name!")
        expect(error.message).to start_with("Failed to deliver a message to not a valid topic name!: Broker: Invalid topic")
      }
    expect(ConsumerHelpers.now - started).to be < 5
  ensure
    producer&.close
  end
end
