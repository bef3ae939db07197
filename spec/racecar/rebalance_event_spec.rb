# frozen_string_literal: true

RSpec.describe Racecar::RebalanceEvent do
  let(:consumer_class) { Class.new(Racecar::Consumer) }

  def event(topic_partitions, lost: false)
    stub_const("OrdersConsumer", consumer_class)
    described_class.new(topic_partitions: topic_partitions, consumer_class: consumer_class,
                        group_id: "orders", lost: lost)
  end

  it "tells the topics involved" do
    expect(event({ "orders" => [1], "refunds" => [0] }).topics).to eq(%w[orders refunds])
  end

  it "tells a topic's partition numbers, sorted" do
    expect(event({ "orders" => [3, 0, 2] }).partitions("orders")).to eq([0, 2, 3])
  end

  it "tells all partition numbers when asked without a topic" do
    expect(event({ "orders" => [1, 0] }).partitions).to eq([0, 1])
  end

  it "answers an empty list for a topic it does not involve" do
    expect(event({ "orders" => [1] }).partitions("refunds")).to eq([])
  end

  it "is frozen, so a hook cannot change what other hooks see" do
    e = event({ "orders" => [1] })
    expect(e.topic_partitions).to be_frozen
    expect(e.partitions("orders")).to be_frozen
  end

  it "carries the consumer class and group id" do
    e = event({ "orders" => [1] })
    expect([e.consumer_class, e.group_id]).to eq([consumer_class, "orders"])
  end

  it "says whether the partitions were lost rather than handed over" do
    expect([event({ "orders" => [1] }, lost: true).lost?, event({ "orders" => [1] }).lost?]).to eq([true, false])
  end

  it "is empty when a rebalance changed nothing for this member" do
    expect([event({}).empty?, event({ "orders" => [0] }).empty?]).to eq([true, false])
  end

  it "converts to a Hash naming the consumer class" do
    expect(event({ "orders" => [2] }).to_h)
      .to eq(topic_partitions: { "orders" => [2] }, consumer_class: "OrdersConsumer", group_id: "orders")
  end
end
