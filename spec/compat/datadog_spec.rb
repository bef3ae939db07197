# frozen_string_literal: true

require "racecar/datadog"
require_relative "../support/consumer_helpers"
require_relative "../support/producer_helpers"
require_relative "support/metric_log"

# Upstream Racecar 2.12's Datadog metrics, name for name, type for type, tag
# for tag (UPSTREAM-CONTRACT §6.2), as a DogStatsD agent receives them on a
# real UDP socket: dashboards and monitors built on upstream keep working.
RSpec.describe "Datadog metrics of upstream Racecar 2.12" do
  consumer_tags = %w[client group_id topic partition]
  group_tags = %w[client group_id]
  # metric (without the namespace) => [DogStatsD type, tag names], from the contract
  upstream = {
    "consumer.process_message.latency" => ["ms", consumer_tags],
    "consumer.messages" => ["c", consumer_tags],
    "consumer.process_message.errors" => ["c", consumer_tags],
    "consumer.offset" => ["g", consumer_tags],
    "consumer.time_lag" => ["g", consumer_tags],
    "consumer.process_batch.latency" => ["ms", consumer_tags],
    "consumer.process_batch.errors" => ["c", consumer_tags],
    "consumer.batch_size" => ["h", consumer_tags],
    "consumer.join_group" => ["ms", group_tags],
    "consumer.leave_group" => ["ms", group_tags],
    "consumer.join_group.errors" => ["c", group_tags],
    "consumer.leave_group.errors" => ["c", group_tags],
    "consumer.poll.rdkafka_error.msg_size_too_large" => ["c", group_tags],
    "consumer.loop.duration" => ["h", group_tags],
    "consumer.pause.duration" => ["g", consumer_tags],
    "producer.produce.messages" => ["c", %w[client topic]],
    "producer.produce.errors" => ["c", %w[client topic]],
    "producer.produce.message_size" => ["h", %w[client topic]],
    "producer.produce.message_size.sum" => ["c", %w[client topic]],
    "producer.buffer.size" => ["h", %w[client topic]],
    "producer.deliver.latency" => ["ms", %w[client]],
    "producer.deliver.messages" => ["c", %w[client]],
    "producer.ack.messages" => ["c", %w[client]],
    "producer.produce.delivery.errors" => ["c", %w[client]]
  }.freeze

  def datadog_config(agent)
    config = Racecar::Config.new(env: {})
    config.datadog_host = "127.0.0.1"
    config.datadog_port = agent.port
    config
  end

  def tag_names(metric)
    metric.tags.map { |tag| tag.split(":", 2).first }
  end

  describe "from events with upstream's payloads, through the instrumenter" do
    let(:agent) { DatadogAgent.udp }
    let(:log) { MetricLog.new(agent) }
    let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
    let(:ids) { { client_id: "compat-app", group_id: "compat-group" } }
    let(:message) do
      ids.merge(consumer_class: "CompatConsumer", topic: "orders", partition: 3, offset: 41,
                create_time: Time.now - 2, key: "k", value: "v", headers: {})
    end
    let(:batch) do
      ids.merge(consumer_class: "CompatConsumer", topic: "orders", partition: 3, first_offset: 40, last_offset: 42,
                last_create_time: Time.now - 2, message_count: 3)
    end
    let(:produced) do
      ids.merge(value: "hello", headers: nil, key: "k", partition: nil, partition_key: nil, topic: "out",
                message_size: 5, create_time: Time.now, buffer_size: 2)
    end

    before { @subscriber = Racecar::Datadog.install(config: datadog_config(agent), instrumenter: instrumenter, env: {}) }

    after do
      @subscriber.close
      agent.close
    end

    def fail_inside(name, payload)
      instrumenter.instrument(name, payload) { raise ArgumentError, "boom" }
    rescue ArgumentError
      nil
    end

    def publish_every_upstream_event
      instrumenter.instrument("process_message", message.dup) { sleep 0.002 }
      fail_inside("process_message", message.dup)
      instrumenter.instrument("process_batch", batch.dup) { sleep 0.002 }
      fail_inside("process_batch", batch.dup)
      instrumenter.instrument("main_loop", ids.merge(consumer_class: "CompatConsumer", consumer_set: nil)) { nil }
      instrumenter.instrument("pause_status", ids.merge(topic: "orders", partition: 3, duration: 1.5,
                                                        consumer_class: "CompatConsumer"))
      instrumenter.instrument("join_group", ids.dup) { nil }
      instrumenter.instrument("leave_group", ids.dup) { nil }
      fail_inside("join_group", ids.dup)
      fail_inside("leave_group", ids.dup)
      error = Racecar::KafkaError.new("Kafka error: too large", code: :msg_size_too_large)
      instrumenter.instrument("poll_error", ids.merge(exception: error))
      instrumenter.instrument("produce_message", produced.dup) { nil }
      fail_inside("produce_message", produced.dup)
      instrumenter.instrument("produce_async", produced.dup) { nil }
      instrumenter.instrument("produce_sync", produced.dup) { nil }
      instrumenter.instrument("deliver_messages", ids.merge(delivered_message_count: 4)) { nil }
      instrumenter.instrument("acknowledged_message", ids.merge(offset: 7, partition: 0))
      instrumenter.instrument("produce_delivery_error",
                              ids.merge(partition: 0, exception: Racecar::MessageDeliveryError.new("x")))
    end

    it "sends every upstream metric with upstream's type and tags" do
      publish_every_upstream_event
      metrics = log.drain(timeout: 3)

      received = upstream.keys.to_h do |name|
        found = metrics.select { |metric| metric.name == "racecar.#{name}" }
        [name, found.map { |metric| [metric.type, tag_names(metric).sort] }.uniq]
      end
      expected = upstream.transform_values { |type, tags| [[type, tags.sort]] }
      expect(received).to eq(expected)
    end

    it "gives every metric name one type, upstream's own for upstream's names (racecar's extras included)" do
      publish_every_upstream_event
      instrumenter.instrument("statistics", ids.merge(statistics: { "topics" => {} }))
      instrumenter.instrument("partitions_assigned", ids.merge(topic_partitions: { "orders" => [3] }, partitions: [3]))

      types = log.drain(timeout: 3).group_by(&:name).transform_values { |found| found.map(&:type).uniq }

      expect(types.select { |_name, found| found.size > 1 }).to eq({})
      upstream.each do |name, (type, _tags)|
        expect([name, types["racecar.#{name}"]]).to eq([name, [type]])
      end
    end

    it "counts one message per #process and the batch's size per #process_batch, tagged with where it came from" do
      instrumenter.instrument("process_message", message.dup) { nil }
      instrumenter.instrument("process_batch", batch.dup) { nil }

      messages = log.drain.select { |metric| metric.name == "racecar.consumer.messages" }
      expect(messages.map(&:value)).to eq([1, 3])
      expect(messages.first.tags).to eq(%w[client:compat-app group_id:compat-group topic:orders partition:3])
    end

    it "gauges offset and time lag and records the batch size even when processing raised, as upstream does" do
      fail_inside("process_batch", batch.dup)

      metrics = log.drain.to_h { |metric| [metric.name, metric] }
      expect(metrics.keys).to contain_exactly("racecar.consumer.process_batch.errors", "racecar.consumer.batch_size",
                                              "racecar.consumer.offset", "racecar.consumer.time_lag")
      expect(metrics["racecar.consumer.offset"].value).to eq(42)
      expect(metrics["racecar.consumer.time_lag"].value).to be_between(1_900, 10_000)
    end

    it "times join_group, leave_group and every loop with the events' durations, in milliseconds" do
      instrumenter.instrument("join_group", ids.dup) { sleep 0.03 }
      instrumenter.instrument("main_loop", ids.merge(consumer_class: "CompatConsumer")) { sleep 0.02 }
      instrumenter.instrument("main_loop", ids.merge(consumer_class: "CompatConsumer")) { sleep 0.02 }
      instrumenter.instrument("leave_group", ids.dup) { sleep 0.01 }

      metrics = log.drain
      expect(metrics.find { |m| m.name == "racecar.consumer.join_group" }.value).to be_between(30, 1_000)
      expect(metrics.find { |m| m.name == "racecar.consumer.leave_group" }.value).to be_between(10, 1_000)
      loops = metrics.select { |m| m.name == "racecar.consumer.loop.duration" }
      expect(loops.map(&:value)).to all(be_between(20, 1_000))
      expect(loops.size).to eq(2)
    end

    it "names poll errors after librdkafka's error code, an unknown code as err_<number>" do
      [:transport, :"err_-999?", 12_345].each do |code|
        instrumenter.instrument("poll_error", ids.merge(exception: Racecar::KafkaError.new("Kafka error", code: code)))
      end

      names = log.drain.map(&:name).grep(/rdkafka_error/)
      expect(names).to eq(%w[racecar.consumer.poll.rdkafka_error.transport racecar.consumer.poll.rdkafka_error.err_999
                             racecar.consumer.poll.rdkafka_error.err_12345])
    end

    it "sizes produced messages from message_size and histograms the buffer size" do
      instrumenter.instrument("produce_message", produced.merge(message_size: 11, buffer_size: 7)) { nil }

      metrics = log.drain.to_h { |metric| [metric.name, metric] }
      expect(metrics["racecar.producer.produce.messages"].value).to eq(1)
      expect(metrics["racecar.producer.produce.message_size"]).to have_attributes(value: 11, type: "h")
      expect(metrics["racecar.producer.produce.message_size.sum"]).to have_attributes(value: 11, type: "c")
      expect(metrics["racecar.producer.buffer.size"]).to have_attributes(value: 7, type: "h")
      expect(metrics["racecar.producer.produce.messages"].tags).to eq(%w[client:compat-app topic:out])
    end

    it "counts delivered messages and times deliver!" do
      instrumenter.instrument("deliver_messages", ids.merge(delivered_message_count: 4)) { sleep 0.01 }

      metrics = log.drain.to_h { |metric| [metric.name, metric] }
      expect(metrics["racecar.producer.deliver.messages"]).to have_attributes(value: 4, type: "c")
      expect(metrics["racecar.producer.deliver.latency"].value).to be >= 10
      expect(metrics["racecar.producer.deliver.latency"].tags).to eq(%w[client:compat-app])
    end
  end

  describe "installed by Racecar.producer and by the racecar command" do
    let(:agent) { DatadogAgent.udp }
    let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
    let(:event) { { client_id: "app", group_id: "g" } }

    after { agent.close }

    it "sends each metric once when both install on one instrumenter, in either order" do
      [%i[install_once install], %i[install install_once]].each do |order|
        subscribers = order.map do |how|
          if how == :install
            Racecar::Datadog.install(config: datadog_config(agent), instrumenter: instrumenter, env: {})
          else
            Racecar::Datadog.install_once(config: datadog_config(agent), instrumenter: instrumenter, env: {})
          end
        end

        instrumenter.instrument("main_loop", event.dup) { nil }
        loops = agent.metrics(datagrams: 3, timeout: 0.5).count { |m| m.name == "racecar.consumer.loop.duration" }
        subscribers.each(&:close)
        expect([order, loops]).to eq([order, 1])
      end
    end
  end

  describe "from a real consumer and producer on the broker", :kafka, :producer do
    let(:agent) { DatadogAgent.udp }
    let(:log) { MetricLog.new(agent) }
    let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }

    before { @subscriber = Racecar::Datadog.install(config: datadog_config(agent), instrumenter: instrumenter, env: {}) }

    after do
      @subscriber.close
      agent.close
    end

    it "sends consumer.messages, process_message latency, offset, time lag, join_group and loop duration" do
      topic = create_topic
      produce_messages(topic, [{ value: "one", create_time: ((Time.now.to_r - 5) * 1000).to_i }, { value: "two" }])
      klass = define_consumer do
        subscribes_to topic
        define_method(:process) { |_message| nil }
      end
      config = spec_config(client_id: "compat-consumer")
      start_consumer(klass.new, config: config, instrumenter: instrumenter)
      where = ["client:compat-consumer", "group_id:#{klass.group_id}", "topic:#{topic}", "partition:0"]

      log.wait_for("racecar.consumer.offset", tags: where) { |metric| metric.value == 1 }

      messages = log.named("racecar.consumer.messages")
      expect(messages.map { |m| [m.type, m.value, m.tags] }).to eq([["c", 1, where]] * 2)
      expect(log.named("racecar.consumer.process_message.latency").map(&:type).uniq).to eq(["ms"])
      expect(log.named("racecar.consumer.time_lag").first).to have_attributes(type: "g", tags: where)
      expect(log.named("racecar.consumer.time_lag").first.value).to be >= 4_000
      join = log.wait_for("racecar.consumer.join_group")
      expect([join.type, join.tags]).to eq(["ms", ["client:compat-consumer", "group_id:#{klass.group_id}"]])
      expect(log.wait_for("racecar.consumer.loop.duration").type).to eq("h")
    end

    it "sends producer.produce.* and producer.ack.messages for Racecar.produce_sync" do
      topic = create_topic
      producer = isolated_producer(spec_config(client_id: "compat-producer"), instrumenter: instrumenter)

      producer.produce_sync(value: "twelve bytes", topic: topic)

      by_topic = ["client:compat-producer", "topic:#{topic}"]
      expect(log.wait_for("racecar.producer.produce.messages", tags: by_topic)).to have_attributes(type: "c", value: 1)
      size = log.wait_for("racecar.producer.produce.message_size")
      sum = log.wait_for("racecar.producer.produce.message_size.sum")
      expect([size.type, size.value, size.tags, sum.type, sum.value]).to eq(["h", 12, by_topic, "c", 12])
      ack = log.wait_for("racecar.producer.ack.messages")
      expect([ack.type, ack.value, ack.tags]).to eq(["c", 1, ["client:compat-producer"]])
    end

    it "sends Racecar.produce_sync's metrics when datadog_enabled is set, without the racecar command, " \
       "as upstream's Racecar.producer does" do
      topic = create_topic
      config = datadog_config(agent)
      config.brokers = spec_config.brokers
      config.client_id = "web-app"
      config.datadog_enabled = true

      with_racecar_config(config, instrumenter: instrumenter) do
        @subscriber.close # only what Racecar.producer installs
        Racecar.produce_sync(value: "from a web process", topic: topic)
      end

      metric = log.wait_for("racecar.producer.produce.messages", tags: ["topic:#{topic}"])
      expect([metric.type, metric.value, metric.tags]).to eq(["c", 1, ["client:web-app", "topic:#{topic}"]])
      expect(log.drain(timeout: 0.5).count { |m| m.name == "racecar.producer.produce.messages" }).to eq(1)
    ensure
      Racecar::Datadog.install_once(config: config, instrumenter: instrumenter).close
    end

    it "sends producer.buffer.size, deliver.latency and deliver.messages for Consumer#produce and deliver!" do
      topic = create_topic
      producer = isolated_producer(spec_config(client_id: "compat-producer"), instrumenter: instrumenter)
      consumer = Class.new(Racecar::Consumer).new
      consumer.__racecar_attach(producer: producer, instrumenter: instrumenter)

      3.times { |i| consumer.produce("m#{i}", topic: topic) }
      consumer.deliver!

      delivered = log.wait_for("racecar.producer.deliver.messages")
      buffers = log.named("racecar.producer.buffer.size").map { |m| [m.type, m.value, m.tags] }
      expect(buffers).to eq([0, 1, 2].map { |n| ["h", n, ["client:compat-producer", "topic:#{topic}"]] })
      expect([delivered.type, delivered.value, delivered.tags]).to eq(["c", 3, ["client:compat-producer"]])
      expect(log.wait_for("racecar.producer.deliver.latency").type).to eq("ms")
    end
  end
end
