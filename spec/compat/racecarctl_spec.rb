# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `racecarctl` as upstream Racecar 2.12 answers (UPSTREAM-CONTRACT.md §6.7):
# the lines it prints, on which stream, and its exit codes. Run through the
# real exe/racecarctl.
RSpec.describe "racecarctl as in Racecar 2.12 (compat)", :cli do
  around do |example|
    Dir.mktmpdir("racecar-compat-ctl") do |dir|
      @dir = dir
      example.run
    end
  end

  let(:pidfile) { File.join(@dir, "consumer.pid") }

  def ctl(*args, env: {})
    racecarctl(*args, env: env, chdir: @dir)
  end

  it "lists status, stop and produce on stdout and exits 0 without a command" do
    out, err, status = ctl
    expect(status.exitstatus).to eq(0)
    expect(err).to eq("")
    expect(out).to start_with("No command specified. Commands:\n - status\n - stop\n - produce\n")
  end

  it "also lists liveness_probe, which upstream's list omits" do
    expect(ctl.first.lines).to include(" - liveness_probe\n")
  end

  it "answers an unknown command with `Error: invalid command: x` on stderr and exit 1" do
    out, err, status = ctl("bogus")
    expect([status.exitstatus, out, err]).to eq([1, "", "Error: invalid command: bogus\n"])
  end

  describe "status" do
    it "prints `running (PID = n)` for a live process" do
      pid = spawn_sleeper
      File.write(pidfile, pid.to_s)
      out, _err, status = ctl("status", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "running (PID = #{pid})\n"])
    end

    it "prints the pid status (exited, dead) otherwise, exiting 0" do
      out, _err, status = ctl("status", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "exited\n"])
      File.write(pidfile, dead_pid.to_s)
      out, _err, status = ctl("status", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "dead\n"])
    end

    it "says `Error: No pidfile specified` and exits 1 without one" do
      out, err, status = ctl("status")
      expect([status.exitstatus, out, err]).to eq([1, "", "Error: No pidfile specified\n"])
    end

    it "takes the pidfile from RACECAR_PIDFILE, like every other setting" do
      pid = spawn_sleeper
      File.write(pidfile, pid.to_s)
      out, _err, status = ctl("status", env: { "RACECAR_PIDFILE" => pidfile })
      expect([status.exitstatus, out]).to eq([0, "running (PID = #{pid})\n"])
    end
  end

  describe "stop" do
    it "stops the process, saying it waits and then `Racecar stopped`" do
      pid = spawn_sleeper
      File.write(pidfile, pid.to_s)
      out, _err, status = ctl("stop", "--pidfile", pidfile)
      expect(status.exitstatus).to eq(0)
      expect(out).to match(/\A(Waiting for Racecar process to stop\.\.\.\n)*Racecar stopped\n\z/)
      expect(process_alive?(pid)).to be(false)
    end

    it "says `Racecar is not currently running` and exits 0 when nothing runs" do
      out, _err, status = ctl("stop", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "Racecar is not currently running\n"])
    end
  end

  describe "produce" do
    it "says `Error: no topic specified` and exits 1 without a topic" do
      _out, err, status = ctl("produce", "-v", "hello")
      expect([status.exitstatus, err]).to eq([1, "Error: no topic specified\n"])
    end

    it "says `Error: no message value specified` and exits 1 without a value" do
      _out, err, status = ctl("produce", "-t", "greetings")
      expect([status.exitstatus, err]).to eq([1, "Error: no message value specified\n"])
    end

  end

  # Tagged on the group so that spec_helper deletes the topics afterwards.
  describe "produce to the broker", :kafka do
    it "validates the configuration first, with upstream's message" do
      _out, err, status = ctl("produce", "-t", "greetings", "-v", "hi",
                              env: { "RACECAR_BROKERS" => brokers, "RACECAR_MAX_PAUSE_TIMEOUT" => "5" })
      expect(status.exitstatus).to eq(1)
      expect(err).to include("`max_pause_timeout` only makes sense when `pause_with_exponential_backoff` is enabled")
    end

    it "delivers and prints `=> Delivered message to Kafka cluster` on stderr" do
      topic = create_topic(unique_name("compat-ctl"))
      _out, err, status = ctl("produce", "-t", topic, "-v", "hello", "-k", "k1",
                              env: { "RACECAR_BROKERS" => brokers })
      expect([status.exitstatus, err]).to eq([0, "=> Delivered message to Kafka cluster\n"])
      message = consume_one(topic)
      expect([message.key, message.value]).to eq(%w[k1 hello])
    end
  end

  def consume_one(topic)
    consumer = Racecar::Native::Consumer.new(
      "bootstrap.servers" => brokers, "group.id" => unique_name("compat-ctl-reader"),
      "auto.offset.reset" => "earliest", "enable.auto.commit" => "false"
    )
    consumer.subscribe([topic])
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    loop do
      message = consumer.poll_batch(500, 1).first
      return message if message
      raise "nothing consumed from #{topic}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    end
  ensure
    consumer&.close
  end
end
