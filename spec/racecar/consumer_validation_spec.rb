# frozen_string_literal: true

RSpec.describe Racecar::ConsumerValidation do
  def consumer_class(name = "ValidationSpecConsumer", topics: ["events"], &body)
    klass = Class.new(Racecar::Consumer)
    stub_const(name, klass)
    klass.subscribes_to(*topics) unless topics.empty?
    klass.class_eval(&body) if body
    klass
  end

  def failure_message(klass)
    described_class.check!(klass)
    raise "expected a Racecar::ConfigError"
  rescue Racecar::ConfigError => e
    e.message
  end

  it "accepts process(message) and says the runner calls process" do
    klass = consumer_class { def process(message); end }
    expect(described_class.check!(klass)).to eq(:process)
  end

  it "accepts process_batch(messages) and says the runner calls process_batch" do
    klass = consumer_class { def process_batch(messages); end }
    expect(described_class.check!(klass)).to eq(:process_batch)
  end

  it "accepts an optional or splat parameter, which can take the one argument" do
    expect(described_class.check!(consumer_class { def process(message = nil); end })).to eq(:process)
    expect(described_class.check!(consumer_class("SplatConsumer") { def process_batch(*messages); end }))
      .to eq(:process_batch)
  end

  it "accepts process inherited from a parent consumer class" do
    parent = consumer_class("ParentConsumer") { def process(message); end }
    child = Class.new(parent)
    stub_const("ChildConsumer", child)
    child.subscribes_to("events")
    expect(described_class.check!(child)).to eq(:process)
  end

  it "rejects a class with neither method, naming the class and both methods" do
    message = failure_message(consumer_class("IdleConsumer"))
    expect(message).to include("IdleConsumer", "#process(message)", "#process_batch(messages)")
  end

  it "calls process_batch when a class defines both methods, as upstream Racecar does" do
    klass = consumer_class("GreedyConsumer") do
      def process(message); end
      def process_batch(messages); end
    end
    expect(described_class.check!(klass)).to eq(:process_batch)
  end

  it "rejects process without a parameter, naming the class, the method and its parameters" do
    klass = consumer_class("NoArgConsumer") { def process; end }
    expect(failure_message(klass)).to include("NoArgConsumer#process", "exactly one argument", "()")
  end

  it "rejects process with two required parameters" do
    klass = consumer_class("TwoArgConsumer") { def process(message, extra); end }
    expect(failure_message(klass)).to include("TwoArgConsumer#process", "(message, extra)")
  end

  it "rejects process with a required keyword" do
    klass = consumer_class("KeywordConsumer") { def process(message, strict:); end }
    expect(failure_message(klass)).to include("KeywordConsumer#process", "strict:")
  end

  it "rejects process_batch with the wrong arity, naming process_batch and messages" do
    klass = consumer_class("BadBatchConsumer") { def process_batch(first, second); end }
    expect(failure_message(klass)).to include("BadBatchConsumer#process_batch", "(messages)")
  end

  it "rejects a class that subscribes to no topic" do
    klass = consumer_class("DeafConsumer", topics: []) { def process(message); end }
    expect(failure_message(klass)).to include("DeafConsumer", "subscribes_to")
  end

  it "rejects something that is not a Racecar::Consumer subclass" do
    expect(failure_message(String)).to include("String", "Racecar::Consumer")
  end
end
