# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `racecar --daemonize` and `racecarctl status/stop` on the real executables.
RSpec.describe "racecar --daemonize (integration)", :kafka, :cli, :cli_integration do
  let(:consumers_source) { recording_consumer_source("CliSpecDaemonConsumer") }

  around do |example|
    Dir.mktmpdir("racecar-cli-daemon") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), consumers_source)
      example.run
    ensure
      Dir[File.join(dir, "**", "*.pid")].each do |pidfile|
        Process.kill("KILL", File.read(pidfile).to_i)
      rescue Errno::ESRCH, ArgumentError
        nil
      end
    end
  end

  let(:topic) { unique_name("cli-daemon") }
  let(:group) { unique_name("cli-daemon-group") }
  let(:output) { File.join(@app, "consumed.txt") }
  let(:env) { { "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output } }

  def daemonize(*extra)
    process = start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2",
                            "--daemonize", *extra, "CliSpecDaemonConsumer", env: env, chdir: @app)
    status = process.wait(timeout: 60)
    [process, status]
  end

  def ctl(*args)
    racecarctl(*args, chdir: @app)
  end

  it "returns at once, runs in the background with a pidfile, and stops with racecarctl stop" do
    launcher, status = daemonize
    expect(status&.exitstatus).to eq(0), launcher.describe
    pidfile = File.join(@app, "tmp", "pids", "racecar-#{group}.pid")
    expect(launcher.stdout).to include("pidfile #{File.realpath(@app)}/tmp/pids/racecar-#{group}.pid")
      .or include("pidfile #{pidfile}")
    pid = wait_until(message: "pidfile") { File.exist?(pidfile) && File.read(pidfile).to_i.nonzero? }
    expect(pid).not_to eq(launcher.pid)

    out, _err, ctl_status = ctl("status", "--pidfile", pidfile)
    expect([ctl_status.exitstatus, out]).to eq([0, "running (PID = #{pid})\n"])

    produce_with_racecarctl(topic, "from-the-background", chdir: @app)
    wait_until(timeout: 60, message: "message consumed by the daemon") { consumed(output).any? }
    expect(consumed(output).first).to include(pid: pid, value: "from-the-background")

    out, err, ctl_status = ctl("stop", "--pidfile", pidfile)
    expect([ctl_status.exitstatus, err]).to eq([0, ""])
    expect(out).to match(/\A(Waiting for Racecar process to stop\.\.\.\n)*Racecar stopped\n\z/)
    expect(File.exist?(pidfile)).to be(false)
    expect(File.read(File.join(@app, "log", "racecar.log"))).to include("Starting CliSpecDaemonConsumer")
      .and include("Received SIGTERM, stopping")

    out, _err, ctl_status = ctl("status", "--pidfile", pidfile)
    expect([ctl_status.exitstatus, out]).to eq([0, "exited\n"])
  end

  it "refuses to start a second daemon on the same pidfile" do
    _launcher, status = daemonize("--pidfile", "consumer.pid")
    expect(status&.exitstatus).to eq(0)
    pidfile = File.join(@app, "consumer.pid")
    first = wait_until(message: "pidfile") { File.exist?(pidfile) && File.read(pidfile).to_i.nonzero? }

    second, status = daemonize("--pidfile", "consumer.pid")
    expect(status&.exitstatus).to eq(1)
    expect(second.stderr).to include("racecar is already running with pid #{first}")
    expect(File.read(pidfile).to_i).to eq(first)
    expect(ctl("stop", "--pidfile", pidfile)[2].exitstatus).to eq(0)
  end

  it "replaces a stale pidfile" do
    pidfile = File.join(@app, "consumer.pid")
    File.write(pidfile, "#{dead_pid}\n")
    launcher, status = daemonize("--pidfile", "consumer.pid", "--log", "consumer.log")
    expect(status&.exitstatus).to eq(0), launcher.describe
    pid = wait_until(message: "new pid in pidfile") do
      current = File.read(pidfile).to_i
      current if current != 0 && process_alive?(current) && current != launcher.pid
    end
    expect(ctl("stop", "--pidfile", pidfile)[2].exitstatus).to eq(0)
    expect(File.read(File.join(@app, "consumer.log"))).to include("(pid #{pid})")
  end
end
