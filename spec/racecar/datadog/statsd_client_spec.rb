# frozen_string_literal: true

require "timeout"
require "tmpdir"
require "racecar/datadog/statsd_client"
require_relative "../../support/datadog_agent"

RSpec.describe Racecar::Datadog::StatsdClient do
  def elapsed
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  end

  context "over UDP" do
    let(:agent) { DatadogAgent.udp }
    let(:client) { described_class.new(host: "127.0.0.1", port: agent.port, namespace: "racecar", tags: ["env:test"]) }

    after do
      client.close
      agent.close
    end

    it "sends a counter with the namespace and the global tags" do
      client.increment("consumer.processed_messages", tags: ["topic:greetings"])

      expect(agent.datagrams).to eq(["racecar.consumer.processed_messages:1|c|#env:test,topic:greetings"])
    end

    it "sends counts, gauges, histograms, distributions and timings with their DogStatsD types" do
      client.count("a", 5)
      client.gauge("b", 42)
      client.histogram("c", 7)
      client.distribution("d", 2.5)
      client.timing("e", 12.3456)

      expect(agent.datagrams(count: 5)).to eq([
        "racecar.a:5|c|#env:test",
        "racecar.b:42|g|#env:test",
        "racecar.c:7|h|#env:test",
        "racecar.d:2.5|d|#env:test",
        "racecar.e:12.346|ms|#env:test"
      ])
    end

    it "puts the metrics of a batch into one datagram, one line each" do
      client.batch do
        client.increment("one")
        client.gauge("two", 2)
      end

      expect(agent.datagrams(count: 2, timeout: 0.5)).to eq(["racecar.one:1|c|#env:test\nracecar.two:2|g|#env:test"])
    end

    it "splits a large batch into datagrams no larger than the limit" do
      small = described_class.new(port: agent.port, max_datagram_bytes: 100)

      small.batch { 30.times { |i| small.increment("metric.number.#{i}") } }
      datagrams = agent.datagrams(count: 30, timeout: 0.5)
      small.close

      expect(datagrams.size).to be > 1
      expect(datagrams.map(&:bytesize).max).to be <= 100
      expect(datagrams.flat_map { |d| d.split("\n") }).to eq(Array.new(30) { |i| "metric.number.#{i}:1|c" })
    end

    it "sends a batch when the block raises, and lets the error through" do
      expect { client.batch { client.increment("before_error"); raise "oops" } }.to raise_error("oops")

      expect(agent.datagrams).to eq(["racecar.before_error:1|c|#env:test"])
    end

    it "replaces characters that would break the line format" do
      odd = described_class.new(port: agent.port, tags: { "env" => "a,b|c" })

      odd.gauge("weird:name|x@y", 1, tags: ["topic:x,y"])
      datagram = agent.datagrams.first
      odd.close

      expect(datagram).to eq("weird_name_x_y:1|g|#env:a_b_c,topic:x_y")
    end

    it "reaches an agent on 127.0.0.1 when the host is 'localhost' (the config default)" do
      local = described_class.new(host: "localhost", port: agent.port)

      local.increment("via_localhost")
      datagrams = agent.datagrams
      local.close

      expect(datagrams).to eq(["via_localhost:1|c"])
    end

    it "omits the namespace when none is given" do
      plain = described_class.new(port: agent.port)

      plain.increment("bare")
      datagram = agent.datagrams.first
      plain.close

      expect(datagram).to eq("bare:1|c")
    end
  end

  context "over a Unix datagram socket" do
    let(:dir) { Dir.mktmpdir("racecar-dd") }
    let(:path) { File.join(dir, "dsd.socket") }
    let(:client) { described_class.new(socket_path: path, namespace: "racecar", retry_interval: 0) }

    after do
      client.close
      FileUtils.remove_entry(dir)
    end

    it "sends datagrams to the socket path" do
      agent = DatadogAgent.unix(path)

      client.gauge("consumer.offset", 99, tags: ["partition:0"])

      expect(agent.datagrams).to eq(["racecar.consumer.offset:99|g|#partition:0"])
      agent.close
    end

    it "neither raises nor blocks while no agent listens on the path, and counts the drops" do
      time = elapsed { 1_000.times { client.increment("lost") } }

      expect(time).to be < 3 # ~0.02 s on an idle machine; a blocking send would take far longer
      expect(client.dropped_datagrams).to eq(1_000)
      expect(client.sent_datagrams).to eq(0)
    end

    it "connects lazily once the agent appears" do
      client.increment("lost")
      agent = DatadogAgent.unix(path)

      client.increment("found")

      expect(agent.datagrams(count: 2, timeout: 0.5)).to eq(["racecar.found:1|c"])
      agent.close
    end

    it "reconnects after the agent restarts on the same path" do
      first = DatadogAgent.unix(path)
      client.increment("first")
      expect(first.datagrams).to eq(["racecar.first:1|c"])
      first.close
      File.unlink(path)

      expect { client.increment("while_down") }.not_to raise_error
      second = DatadogAgent.unix(path)
      client.increment("second")

      expect(second.datagrams).to eq(["racecar.second:1|c"])
      second.close
    end

    it "drops instead of blocking when the agent does not read and its queue is full" do
      agent = DatadogAgent.unix(path)

      time = Timeout.timeout(10) { elapsed { 20_000.times { client.increment("flood") } } }

      expect(time).to be < 5
      expect(client.dropped_datagrams).to be > 0
      expect(client.sent_datagrams).to be > 0
      agent.close
    end
  end

  context "with nothing listening on the UDP port" do
    let(:client) { described_class.new(host: "127.0.0.1", port: DatadogAgent.free_udp_port) }

    after { client.close }

    it "neither raises nor blocks" do
      time = nil
      expect { time = elapsed { 2_000.times { client.increment("nobody.home") } } }.not_to raise_error

      expect(time).to be < 3 # ~0.03 s on an idle machine; a blocking send would take far longer
      # Loopback answers a closed port with ICMP, which the next send reports.
      expect(client.dropped_datagrams).to be > 0
    end
  end

  describe ".normalize_tags" do
    it "accepts an Array, a Hash or a comma-separated String" do
      expect(described_class.normalize_tags(["a:1", :b])).to eq(["a:1", "b"])
      expect(described_class.normalize_tags({ "a" => 1, b: nil })).to eq(["a:1", "b"])
      expect(described_class.normalize_tags("a:1, b:2")).to eq(["a:1", "b:2"])
      expect(described_class.normalize_tags(nil)).to eq([])
    end
  end
end
