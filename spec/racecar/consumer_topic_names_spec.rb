# frozen_string_literal: true

RSpec.describe Racecar::Consumer, ".subscribes_to topic names" do
  def consumer_class(&body)
    stub_const("TopicNameConsumer", Class.new(described_class)).tap { |klass| klass.class_eval(&body) }
  end

  it "accepts letters, digits, dots, underscores and dashes, and regular expressions starting with ^" do
    klass = consumer_class { subscribes_to "orders.v1_eu-west", "^audit-.*" }
    expect(klass.subscriptions.map(&:topic)).to eq(["orders.v1_eu-west", "^audit-.*"])
  end

  it "refuses a name Kafka would reject, naming the class and the topic" do
    expect { consumer_class { subscribes_to "bad topic!" } }
      .to raise_error(Racecar::ConfigError, /TopicNameConsumer subscribes to "bad topic!", which is not a valid Kafka topic name/)
  end

  it "refuses names that are too long, empty, or only dots" do
    ["a" * 250, "", ".", ".."].each do |topic|
      expect { consumer_class { subscribes_to topic } }.to raise_error(Racecar::ConfigError, /not a valid Kafka topic name/)
    end
  end
end
