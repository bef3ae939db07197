# frozen_string_literal: true

require_relative "../support/child_process"
require_relative "../support/producer_helpers"

# Producing runs Ruby before the message reaches librdkafka: to_s of a value,
# key or header that is not a String. That Ruby may close the producer, on
# this thread or (by switching threads) on another one, e.g. an at_exit hook
# or Racecar.config=. The message must then be refused with Racecar::Error,
# never produced through the freed librdkafka handle or its topic handle.
#
# Each scenario runs in a forked child: a use-after-free crashes the child
# (SIGSEGV, or an ASAN report with RACECAR_SANITIZE=address) and is reported
# here as a failure instead of ending the spec run.
RSpec.describe "Closing the producer while a message is being converted", :kafka do
  include ChildProcess
  include ProducerHelpers

  # An object whose to_s runs the block once, then answers text.
  def converting(text, &on_to_s)
    Object.new.tap do |object|
      object.define_singleton_method(:to_s) do
        on_to_s&.call
        on_to_s = nil
        text
      end
    end
  end

  # A native producer whose topic handle for topic is cached (a first
  # message went there), which is what a closed producer would free.
  def warmed_up_native(topic)
    native = Racecar::Native::Producer.new("bootstrap.servers" => brokers)
    native.produce(topic, "warm-up", nil, nil, nil, nil, nil)
    native
  end

  it "refuses the message when the value's to_s closes the native producer" do
    topic = unique_name("close-in-value")
    result = in_child do
      native = warmed_up_native(topic)
      native.produce(topic, converting("value") { native.close(1) }, nil, nil, nil, nil, nil)
    end

    expect(result).to eq([:raised, "Racecar::Error", "the producer is closed"])
  end

  it "refuses the message when the key's to_s closes the native producer" do
    topic = unique_name("close-in-key")
    result = in_child do
      native = warmed_up_native(topic)
      native.produce(topic, "value", converting("key") { native.close(1) }, nil, nil, nil,
                     Racecar::Native::DeliveryTracker.new)
    end

    expect(result).to eq([:raised, "Racecar::Error", "the producer is closed"])
  end

  it "refuses the message when a header value's to_s closes the native producer" do
    topic = unique_name("close-in-header")
    result = in_child do
      native = warmed_up_native(topic)
      native.produce(topic, "value", nil, nil, { "h" => converting("header") { native.close(1) } }, nil, nil)
    end

    expect(result).to eq([:raised, "Racecar::Error", "the producer is closed"])
  end

  it "refuses the message when another thread closes the producer while the value's to_s runs" do
    topic = unique_name("close-elsewhere")
    result = in_child do
      native = warmed_up_native(topic)
      close_now = Queue.new
      closed = Queue.new
      closer = Thread.new do
        close_now.pop
        native.close(1)
        closed << true
      end
      # The to_s hands over to the closer and waits until it has closed.
      value = converting("value") do
        close_now << true
        closed.pop
      end
      begin
        native.produce(topic, value, nil, nil, nil, nil, nil)
      ensure
        closer.join
      end
    end

    expect(result).to eq([:raised, "Racecar::Error", "the producer is closed"])
  end

  it "refuses a Racecar.produce_async message whose value's to_s closes the producer, and produces again after" do
    topic = create_topic
    config = spec_config
    result = in_child do
      producer = Racecar::Producer.new(config: config, logger: config.logger, instrumenter: null_instrumenter)
      producer.produce_sync(value: "before", topic: topic)
      outcome = begin
        producer.produce_async(value: converting("during") { producer.close }, topic: topic)
        :produced
      rescue Racecar::Error => e
        [e.class.name, e.message]
      end
      # The Racecar::Producer builds a new handle for the next message.
      producer.produce_sync(value: "after", topic: topic)
      producer.close
      outcome
    end

    expect(result).to eq([:returned, ["Racecar::Error", "the producer is closed"]])
    expect(kcat_read(topic, count: 2).map(&:value)).to eq(%w[before after])
  end
end
