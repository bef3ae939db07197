# frozen_string_literal: true

require "json"
require "tmpdir"
require "racecar/instrumenter"
require "racecar/datadog"
require_relative "../support/datadog_agent"

RSpec.describe Racecar::Datadog do
  # The keys Racecar::Config has for Datadog, nothing else.
  DatadogSettings = Struct.new(:datadog_host, :datadog_port, :datadog_socket_path, :datadog_namespace,
                               :datadog_tags, keyword_init: true)

  let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
  let(:payload) { { client_id: "app", group_id: "g", topic: "t", partition: 0, offset: 3 } }
  let(:subscribers) { [] }

  after { subscribers.each(&:close) }

  def install(env: {}, **settings)
    config = DatadogSettings.new(**settings)
    subscribers << described_class.install(config: config, instrumenter: instrumenter, env: env)
    subscribers.last
  end

  it "sends metrics for instrumented events to the configured host and port under the 'racecar' namespace" do
    agent = DatadogAgent.udp
    install(datadog_host: "127.0.0.1", datadog_port: agent.port, datadog_tags: ["service:orders"])

    instrumenter.instrument("process_message", payload) { nil }

    metric = agent.metrics.find { |m| m.name == "racecar.consumer.messages" }
    expect(metric.tags).to eq(["service:orders", "client:app", "group_id:g", "topic:t", "partition:0"])
    agent.close
  end

  it "returns the subscriber, which stops the metrics when closed" do
    agent = DatadogAgent.udp
    subscriber = install(datadog_host: "127.0.0.1", datadog_port: agent.port)

    subscriber.close
    instrumenter.instrument("process_message", payload) { nil }

    expect(subscriber).to be_a(Racecar::Datadog::Subscriber)
    expect(agent.datagrams(timeout: 0.3)).to be_empty
    agent.close
  end

  it "uses the configured namespace instead of 'racecar'" do
    agent = DatadogAgent.udp
    install(datadog_port: agent.port, datadog_namespace: "kafka.orders")

    instrumenter.instrument("join_group", payload.dup)

    expect(agent.metrics.map(&:name)).to include("kafka.orders.consumer.join_group")
    agent.close
  end

  it "prefers the Unix socket path over host and port" do
    Dir.mktmpdir do |dir|
      agent = DatadogAgent.unix(File.join(dir, "dsd.socket"))
      udp_agent = DatadogAgent.udp
      install(datadog_socket_path: File.join(dir, "dsd.socket"),
              datadog_host: "127.0.0.1", datadog_port: udp_agent.port)

      instrumenter.instrument("leave_group", payload.dup)

      expect(agent.metrics.map(&:name)).to include("racecar.consumer.leave_group")
      expect(udp_agent.datagrams(timeout: 0.2)).to be_empty
      agent.close
      udp_agent.close
    end
  end

  it "falls back to DD_AGENT_HOST and DD_DOGSTATSD_PORT when the config names no agent" do
    agent = DatadogAgent.udp
    install(env: { "DD_AGENT_HOST" => "127.0.0.1", "DD_DOGSTATSD_PORT" => agent.port.to_s })

    instrumenter.instrument("join_group", payload.dup)

    expect(agent.metrics.map(&:name)).to include("racecar.consumer.join_group")
    agent.close
  end

  it "falls back to DD_DOGSTATSD_SOCKET when the config names no agent" do
    Dir.mktmpdir do |dir|
      path = File.join(dir, "agent.socket")
      agent = DatadogAgent.unix(path)
      install(env: { "DD_DOGSTATSD_SOCKET" => path })

      instrumenter.instrument("join_group", payload.dup)

      expect(agent.metrics.map(&:name)).to include("racecar.consumer.join_group")
      agent.close
    end
  end

  # Measured against the same work with an agent listening, interleaved in
  # rounds, so a loaded machine slows both sides alike: an absolute bound (2 s
  # for 2,000 events, ~0.03 s when idle) once failed at 3.6 s on a busy CI host.
  it "keeps the consumer running at full speed when no agent is there" do
    agent = DatadogAgent.udp
    listened = Racecar::Instrumenter.new(backend: nil)
    subscribers << described_class.install(config: DatadogSettings.new(datadog_host: "127.0.0.1", datadog_port: agent.port),
                                           instrumenter: listened, env: {})
    install(datadog_host: "127.0.0.1", datadog_port: DatadogAgent.free_udp_port)
    timed = lambda do |target|
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      results = Array.new(200) { target.instrument("process_message", payload.dup) { :processed } }
      [results, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started]
    end

    rounds = Array.new(10) { [timed.call(instrumenter), timed.call(listened)] }
    without_agent = rounds.sum { |(_, seconds), _| seconds }
    with_agent = rounds.sum { |_, (_, seconds)| seconds }

    expect(rounds.flat_map { |(results, _), _| results }.uniq).to eq([:processed])
    expect(without_agent).to be < (3 * with_agent) + 0.5
    agent.close
  end

  describe "extra/datadog-dashboard.json" do
    let(:dashboard) { JSON.parse(File.read(File.expand_path("../../extra/datadog-dashboard.json", __dir__))) }
    let(:queries) do
      collect = lambda do |widgets|
        widgets.flat_map do |widget|
          definition = widget.fetch("definition")
          nested = definition["widgets"] ? collect.call(definition["widgets"]) : []
          nested + Array(definition["requests"]).map { |request| request.fetch("q") }
        end
      end
      collect.call(dashboard.fetch("widgets"))
    end
    # [metric, aggregate suffix or nil] for every metric a query reads
    let(:used) do
      queries.flat_map do |query|
        query.scan(/racecar\.([a-z_.]+?)(?:\.(avg|max|median|95percentile|count))?\{/)
      end
    end

    it "charts every upstream metric (bar the one per librdkafka error code), under the racecar namespace" do
      upstream = Racecar::Datadog::Metrics::UPSTREAM.keys - ["consumer.poll.rdkafka_error.<code>"]

      expect(used.map(&:first).uniq).to include(*upstream)
    end

    it "charts only metrics the subscriber sends" do
      expect(used.map(&:first).uniq - Racecar::Datadog::Subscriber::METRICS.keys).to eq([])
    end

    it "reads aggregates (.avg, .95percentile...) only of timings and histograms" do
      used.each do |metric, suffix|
        type = Racecar::Datadog::Subscriber::METRICS.fetch(metric).first
        expect([metric, suffix.nil?]).to eq([metric, !type.start_with?("timing", "histogram")])
      end
    end

    it "offers template variables for the tags the metrics carry" do
      expect(dashboard.fetch("template_variables").map { |v| v.fetch("prefix") })
        .to eq(%w[client group_id topic partition])
    end
  end
end
