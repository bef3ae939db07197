# frozen_string_literal: true

require "stringio"
require_relative "../support/consumer_helpers"

# Errors librdkafka reports while the runner polls: transient ones are logged
# and the runner carries on; fatal ones end Runner#run with a KafkaError.
RSpec.describe "Consumer errors from librdkafka", :kafka do
  it "logs a transient error, keeps running, and consumes once the problem goes away" do
    topic = unique_name("topic-later")
    log = StringIO.new
    config = spec_config
    config.logger = Logger.new(log)
    seen = []
    klass = define_consumer do
      subscribes_to topic, additional_config: { "topic.metadata.refresh.interval.ms" => 500 }
      define_method(:process) { |message| seen << message.value }
    end
    running = start_consumer(klass.new, config: config)
    eventually(message: "a warning about the missing topic") { log.string.include?(topic) }
    expect(log.string).to match(/WARN.*#{Regexp.escape(topic)}/)
    expect(running).to be_alive

    create_topic(topic)
    eventually(message: "a message in the new topic") do
      produce_messages(topic, [{ value: "finally" }]) if seen.empty?
      seen.include?("finally")
    end
  end

  it "ends run with a fatal Racecar::KafkaError when another member takes over its static identity" do
    topic = create_topic
    group = unique_name("group")
    identity = { "group.instance.id" => unique_name("instance") }
    classes = Array.new(2) do
      define_consumer(group_id: group) do
        subscribes_to topic, additional_config: identity
        define_method(:process) { |_message| nil }
      end
    end
    assigned = []
    classes.each { |klass| klass.on_partitions_assigned { |event| assigned << [klass, event.partitions] } }
    first = start_consumer(classes[0].new)
    eventually(message: "the first member's assignment") { assigned.any? }
    start_consumer(classes[1].new)

    eventually(message: "the first runner to end", timeout: 30, watch: []) { !first.alive? }
    expect(first.error).to be_a(Racecar::KafkaError).and(have_attributes(fatal?: true))
    expect(first.error.message).to match(/fenced/i)
  end
end
