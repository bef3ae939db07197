# frozen_string_literal: true

require "logger"
require "stringio"
require "racecar/errors"
require "racecar/instrumenter"
require "racecar/datadog"
require_relative "../../support/datadog_agent"

RSpec.describe Racecar::Datadog::Subscriber do
  let(:agent) { DatadogAgent.udp }
  let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
  let(:client) { Racecar::Datadog::StatsdClient.new(port: agent.port, namespace: "racecar", tags: ["env:spec"]) }
  let(:log) { StringIO.new }
  let(:subscriber) { described_class.new(client: client, instrumenter: instrumenter, logger: Logger.new(log)) }
  let(:consumer) { { consumer_class: "TapDanceConsumer", client_id: "my-app", group_id: "tap-dance" } }

  before { subscriber.subscribe }

  after do
    subscriber.close
    agent.close
  end

  # Each event's metrics leave as one datagram.
  def received(events: 1)
    agent.metrics(datagrams: events).to_h { |metric| [metric.name, metric] }
  end

  describe "process_message" do
    let(:payload) do
      consumer.merge(topic: "dances", partition: 2, offset: 41, create_time: Time.now - 3,
                     key: "k", value: "v", headers: {}, retries_count: 0)
    end

    it "counts the message, times it and gauges offset and time lag, tagged by client, group, topic, partition" do
      instrumenter.instrument("process_message", payload) { sleep 0.01 }

      metrics = received
      expect(metrics.keys).to contain_exactly(
        "racecar.consumer.messages", "racecar.consumer.processed_messages", "racecar.consumer.process_message.latency",
        "racecar.consumer.offset", "racecar.consumer.time_lag"
      )
      expect(metrics["racecar.consumer.messages"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.consumer.processed_messages"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.consumer.process_message.latency"].type).to eq("ms")
      expect(metrics["racecar.consumer.process_message.latency"].value).to be >= 9
      expect(metrics["racecar.consumer.offset"]).to have_attributes(value: 41, type: "g")
      expect(metrics["racecar.consumer.time_lag"].type).to eq("g")
      expect(metrics["racecar.consumer.time_lag"].value).to be_between(2_900, 10_000)
      expect(metrics.values.map(&:tags).uniq).to eq([
        ["env:spec", "client:my-app", "group_id:tap-dance", "topic:dances", "partition:2"]
      ])
    end

    it "sends all metrics of one message in a single datagram" do
      instrumenter.instrument("process_message", payload) { nil }

      expect(agent.datagrams(count: 2, timeout: 0.3).size).to eq(1)
    end

    it "counts an error instead of the message when processing raised, and still gauges offset and lag" do
      expect { instrumenter.instrument("process_message", payload) { raise "bad message" } }
        .to raise_error("bad message")

      metrics = received
      expect(metrics.keys).to contain_exactly("racecar.consumer.process_message.errors", "racecar.consumer.offset",
                                              "racecar.consumer.time_lag")
      expect(metrics["racecar.consumer.process_message.errors"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.consumer.process_message.errors"].tag("topic")).to eq("dances")
    end
  end

  describe "process_batch" do
    let(:payload) do
      consumer.merge(topic: "dances", partition: 0, first_offset: 10, last_offset: 14,
                     last_create_time: Time.now, message_count: 5, retries_count: 0)
    end

    it "counts the messages and the batch, records the batch size and gauges the last offset" do
      instrumenter.instrument("process_batch", payload) { nil }

      metrics = received
      expect(metrics["racecar.consumer.messages"]).to have_attributes(value: 5, type: "c")
      expect(metrics["racecar.consumer.processed_messages"]).to have_attributes(value: 5, type: "c")
      expect(metrics["racecar.consumer.processed_batches"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.consumer.batch_size"]).to have_attributes(value: 5, type: "h")
      expect(metrics["racecar.consumer.process_batch.latency"].type).to eq("ms")
      expect(metrics["racecar.consumer.offset"]).to have_attributes(value: 14, type: "g")
      expect(metrics["racecar.consumer.time_lag"].value).to be_between(0, 1_000)
    end

    it "counts a batch error instead of the messages" do
      expect { instrumenter.instrument("process_batch", payload) { raise ArgumentError } }.to raise_error(ArgumentError)

      expect(received.keys).to contain_exactly("racecar.consumer.process_batch.errors", "racecar.consumer.batch_size",
                                               "racecar.consumer.offset", "racecar.consumer.time_lag")
    end
  end

  it "gauges how long a partition has been paused" do
    instrumenter.instrument("pause_status", consumer.merge(topic: "dances", partition: 1, duration: 2.5))

    metric = received["racecar.consumer.pause.duration"]
    expect(metric).to have_attributes(value: 2.5, type: "g")
    expect(metric.tag("partition")).to eq("1")
  end

  it "times joining and leaving the group" do
    instrumenter.instrument("join_group", consumer.dup) { sleep 0.01 }
    instrumenter.instrument("leave_group", consumer.dup) { nil }

    metrics = received(events: 2)
    expect(metrics["racecar.consumer.join_group"].type).to eq("ms")
    expect(metrics["racecar.consumer.join_group"].value).to be >= 9
    expect(metrics["racecar.consumer.join_group.latency"].value).to eq(metrics["racecar.consumer.join_group"].value)
    expect(metrics["racecar.consumer.leave_group"].type).to eq("ms")
    expect(metrics["racecar.consumer.join_group"].tags).to eq(["env:spec", "client:my-app", "group_id:tap-dance"])
  end

  it "counts a failed join or leave as an error, still timed" do
    expect { instrumenter.instrument("join_group", consumer.dup) { raise "no coordinator" } }.to raise_error(RuntimeError)

    metrics = received
    expect(metrics["racecar.consumer.join_group.errors"]).to have_attributes(value: 1, type: "c")
    expect(metrics["racecar.consumer.join_group"].type).to eq("ms")
  end

  it "records each loop's duration as a histogram in milliseconds" do
    instrumenter.instrument("main_loop", consumer.dup) { sleep 0.01 }

    metric = received["racecar.consumer.loop.duration"]
    expect(metric.type).to eq("h")
    expect(metric.value).to be >= 9
    expect(metric.tags).to eq(["env:spec", "client:my-app", "group_id:tap-dance"])
  end

  it "counts assigned and revoked partitions per topic" do
    instrumenter.instrument("partitions_assigned", consumer.merge(topic_partitions: { "a" => [0, 1, 2], "b" => [0] }))
    instrumenter.instrument("partitions_revoked", consumer.merge(topic_partitions: { "a" => [1] }))

    metrics = agent.metrics(datagrams: 2)
    assigned = metrics.select { |m| m.name == "racecar.consumer.partitions_assigned" }
    expect(assigned.map { |m| [m.tag("topic"), m.value] }).to contain_exactly(["a", 3], ["b", 1])
    revoked = metrics.find { |m| m.name == "racecar.consumer.partitions_revoked" }
    expect([revoked.tag("topic"), revoked.value]).to eq(["a", 1])
  end

  it "counts partitions from upstream's partitions key when topic_partitions is absent" do
    instrumenter.instrument("partitions_assigned", consumer.merge(partitions: { "a" => [0, 1] }))
    instrumenter.instrument("partitions_revoked", consumer.merge(partitions: [4, 5, 6]))

    metrics = agent.metrics(datagrams: 2)
    expect(metrics.map { |m| [m.name, m.tag("topic"), m.value] }).to eq(
      [["racecar.consumer.partitions_assigned", "a", 2], ["racecar.consumer.partitions_revoked", nil, 3]]
    )
  end

  it "counts poll errors by librdkafka's code and by error class" do
    error = Racecar::KafkaError.new("broker down", code: :all_brokers_down)
    instrumenter.instrument("poll_error", consumer.merge(exception: error))

    metrics = received
    expect(metrics["racecar.consumer.poll.rdkafka_error.all_brokers_down"]).to have_attributes(value: 1, type: "c")
    metric = metrics["racecar.consumer.poll.errors"]
    expect(metric).to have_attributes(value: 1, type: "c")
    expect(metric.tag("error")).to eq("Racecar::KafkaError")
  end

  it "sends no rdkafka_error metric for a poll error without a code" do
    instrumenter.instrument("poll_error", consumer.merge(exception: RuntimeError.new("odd")))

    expect(received.keys).to eq(["racecar.consumer.poll.errors"])
  end

  it "gauges librdkafka's consumer lag per partition from statistics, skipping unknown lags" do
    stats = {
      "topics" => {
        "dances" => {
          "partitions" => {
            "0" => { "consumer_lag" => 12 }, "1" => { "consumer_lag" => -1 }, "-1" => { "consumer_lag" => 0 }
          }
        }
      }
    }
    instrumenter.instrument("statistics", consumer.merge(statistics: stats))

    lags = agent.metrics.select { |m| m.name == "racecar.consumer.lag" }
    expect(lags.map { |m| [m.tag("topic"), m.tag("partition"), m.value] }).to eq([["dances", "0", 12]])
  end

  describe "producer events" do
    it "counts a buffered message, its size and the buffer size" do
      instrumenter.instrument("produce_message", consumer.merge(topic: "out", key: "ab", value: "cdef", message_size: 4,
                                                                buffer_size: 3))

      metrics = received
      expect(metrics["racecar.producer.produce.messages"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.producer.produce.message_size"]).to have_attributes(value: 4, type: "h")
      expect(metrics["racecar.producer.produce.message_size.sum"]).to have_attributes(value: 4, type: "c")
      expect(metrics["racecar.producer.buffer.size"]).to have_attributes(value: 3, type: "h")
      expect(metrics["racecar.producer.produce.messages"].tags).to eq(["env:spec", "client:my-app", "topic:out"])
      expect(metrics["racecar.producer.produced_messages"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.producer.message_size"]).to have_attributes(value: 6, type: "h")
      expect(metrics["racecar.producer.produced_messages"].tags).to eq(
        ["env:spec", "client:my-app", "topic:out", "method:produce"]
      )
    end

    it "counts a Consumer#produce that raised as a produce error, and as produced the way upstream does" do
      expect { instrumenter.instrument("produce_message", client_id: "my-app", topic: "out") { raise "too big" } }
        .to raise_error("too big")

      metrics = received
      expect(metrics.keys).to contain_exactly("racecar.producer.produce.errors", "racecar.producer.produce.messages",
                                              "racecar.producer.produce.message_size",
                                              "racecar.producer.produce.message_size.sum")
      expect(metrics["racecar.producer.produce.errors"].tags).to eq(["env:spec", "client:my-app", "topic:out"])
    end

    it "times produce_sync and tags it with the method" do
      instrumenter.instrument("produce_sync", client_id: "my-app", topic: "out", value: "x") { sleep 0.01 }

      metrics = received
      expect(metrics["racecar.producer.produce_sync.latency"].value).to be >= 9
      expect(metrics["racecar.producer.produced_messages"].tag("method")).to eq("produce_sync")
      expect(metrics["racecar.producer.produce.messages"].value).to eq(1)
      expect(metrics).not_to have_key("racecar.producer.buffer.size") # upstream sends it for produce_async only
    end

    it "counts a produce call that raised as a produce error" do
      expect { instrumenter.instrument("produce_async", client_id: "my-app", topic: "out") { raise "queue full" } }
        .to raise_error("queue full")

      keys = received.keys
      expect(keys).to include("racecar.producer.produce.errors")
      expect(keys).not_to include("racecar.producer.produced_messages", "racecar.producer.produce_async.latency")
    end

    it "counts delivered messages and times the delivery" do
      instrumenter.instrument("deliver_messages", client_id: "my-app", delivered_message_count: 4) { sleep 0.01 }

      metrics = received
      expect(metrics["racecar.producer.deliver.messages"]).to have_attributes(value: 4, type: "c")
      expect(metrics["racecar.producer.deliver.latency"].value).to be >= 9
      expect(metrics["racecar.producer.delivered_messages"]).to have_attributes(value: 4, type: "c")
      expect(metrics["racecar.producer.deliver_messages.latency"].value).to be >= 9
    end

    it "times a failed deliver! and counts what it delivered, as upstream, and counts the failure" do
      expect { instrumenter.instrument("deliver_messages", client_id: "my-app", delivered_message_count: 2) { raise "x" } }
        .to raise_error("x")

      metrics = received
      expect(metrics.keys).to contain_exactly("racecar.producer.deliver.latency", "racecar.producer.deliver.messages",
                                              "racecar.producer.deliver_messages.errors")
      expect(metrics["racecar.producer.deliver.messages"].value).to eq(2)
    end

    it "counts acknowledged messages and delivery errors per topic and partition" do
      instrumenter.instrument("acknowledged_message", client_id: "my-app", topic: "out", partition: 1, offset: 5)
      instrumenter.instrument("produce_delivery_error", client_id: "my-app", topic: "out", partition: 1,
                                                        exception: Racecar::MessageDeliveryError.new)

      metrics = received(events: 2)
      expect(metrics["racecar.producer.ack.messages"]).to have_attributes(value: 1, type: "c", tags: ["env:spec", "client:my-app"])
      expect(metrics["racecar.producer.acknowledged_messages"].tags)
        .to eq(["env:spec", "client:my-app", "topic:out", "partition:1"])
      expect(metrics["racecar.producer.produce.delivery.errors"]).to have_attributes(value: 1, type: "c")
      expect(metrics["racecar.producer.delivery_errors"]).to have_attributes(value: 1, type: "c")
    end
  end

  it "sends exactly the metrics listed in METRICS, over all events and outcomes" do
    base = consumer.merge(topic: "t", partition: 0)
    calls = [
      -> { instrumenter.instrument("process_message", base.merge(offset: 1, create_time: Time.now)) { nil } },
      -> { instrumenter.instrument("process_message", base.merge(offset: 1)) { raise "x" } },
      -> { instrumenter.instrument("process_batch", base.merge(message_count: 2, last_offset: 2)) { nil } },
      -> { instrumenter.instrument("process_batch", base.merge(message_count: 2)) { raise "x" } },
      -> { instrumenter.instrument("pause_status", base.merge(duration: 1.0)) },
      -> { instrumenter.instrument("main_loop", consumer.dup) { nil } },
      -> { instrumenter.instrument("join_group", consumer.dup) { raise "x" } },
      -> { instrumenter.instrument("leave_group", consumer.dup) { raise "x" } },
      -> { instrumenter.instrument("partitions_assigned", consumer.merge(topic_partitions: { "t" => [0] })) },
      -> { instrumenter.instrument("partitions_revoked", consumer.merge(topic_partitions: { "t" => [0] })) },
      -> { instrumenter.instrument("poll_error", consumer.merge(exception: Racecar::KafkaError.new("x", code: :transport))) },
      lambda do
        stats = { "topics" => { "t" => { "partitions" => { "0" => { "consumer_lag" => 1 } } } } }
        instrumenter.instrument("statistics", consumer.merge(statistics: stats))
      end,
      -> { instrumenter.instrument("produce_message", base.merge(value: "v", buffer_size: 1)) },
      -> { instrumenter.instrument("produce_message", base.merge(value: "v")) { raise "x" } },
      -> { instrumenter.instrument("produce_sync", topic: "t", value: "v") { nil } },
      -> { instrumenter.instrument("produce_async", topic: "t", value: "v") { nil } },
      -> { instrumenter.instrument("produce_sync", topic: "t", value: "v") { raise "x" } },
      -> { instrumenter.instrument("deliver_messages", delivered_message_count: 1) { nil } },
      -> { instrumenter.instrument("deliver_messages", {}) { raise "x" } },
      -> { instrumenter.instrument("acknowledged_message", topic: "t", partition: 0, offset: 1) },
      -> { instrumenter.instrument("produce_delivery_error", topic: "t", partition: 0, exception: RuntimeError.new) }
    ]

    calls.each do |call|
      call.call
    rescue RuntimeError
      nil
    end
    names = agent.metrics(datagrams: calls.size).map(&:name).uniq

    expect(names).to match_array(described_class::METRICS.keys.map { |name| "racecar.#{name.sub('<code>', 'transport')}" })
  end

  it "listens only to the events it turns into metrics" do
    expect(instrumenter.listening?("process_message")).to be(true)
    expect(instrumenter.listening?("main_loop")).to be(true)
    expect(instrumenter.listening?("start_main_loop")).to be(false)
    expect(instrumenter.listening?("start_process_message")).to be(false)
  end

  it "stops listening after close" do
    subscriber.close

    expect(instrumenter.listening?("process_message")).to be(false)
  end

  it "never lets a broken payload reach the consumer, and logs the first failure" do
    expect { instrumenter.instrument("process_batch", consumer.merge(message_count: Object.new)) { :ok } }
      .not_to raise_error

    expect(subscriber.handler_errors).to eq(1)
    expect(log.string).to include("racecar datadog: dropping metrics for process_batch")
  end
end
