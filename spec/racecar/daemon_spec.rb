# frozen_string_literal: true

require "tmpdir"
require "racecar/daemon"
require_relative "../support/cli"

RSpec.describe Racecar::Daemon, :cli do
  around do |example|
    Dir.mktmpdir("racecar-daemon") do |dir|
      @dir = dir
      example.run
    end
  end

  let(:pidfile) { File.join(@dir, "pids", "racecar.pid") }
  let(:daemon) { described_class.new(pidfile: pidfile) }

  def write_pid(pid)
    FileUtils.mkdir_p(File.dirname(pidfile))
    File.write(pidfile, "#{pid}\n")
  end

  describe ".default_pidfile" do
    it "is tmp/pids/racecar-<name>.pid with unsafe characters replaced" do
      expect(described_class.default_pidfile("shop/orders consumer")).to eq("tmp/pids/racecar-shop_orders_consumer.pid")
    end
  end

  describe "#pid and #running?" do
    it "is not running without a pidfile" do
      expect([daemon.pid, daemon.running?]).to eq([nil, false])
    end

    it "is running when the pidfile names a live process" do
      write_pid(spawn_sleeper)
      expect(daemon.running?).to be(true)
    end

    it "is not running when the pidfile names a dead process" do
      write_pid(dead_pid)
      expect(daemon.running?).to be(false)
    end

    it "ignores a pidfile without a pid" do
      write_pid("garbage")
      expect([daemon.pid, daemon.not_running_reason]).to eq([nil, "pidfile #{pidfile} does not contain a pid"])
    end
  end

  describe "#write_pidfile" do
    it "creates the directory and writes the current pid" do
      daemon.write_pidfile
      expect(File.read(pidfile)).to eq("#{Process.pid}\n")
    ensure
      daemon.remove_pidfile
    end

    it "refuses when the pidfile names a live process, saying which" do
      live = spawn_sleeper
      write_pid(live)
      expect { daemon.write_pidfile }.to raise_error(Racecar::Error, /already running with pid #{live} \(pidfile #{Regexp.escape(pidfile)}\)/)
      expect(File.read(pidfile)).to eq("#{live}\n")
    end

    it "replaces a stale pidfile" do
      write_pid(dead_pid)
      daemon.write_pidfile
      expect(daemon.pid).to eq(Process.pid)
    ensure
      daemon.remove_pidfile
    end
  end

  describe "#remove_pidfile" do
    it "leaves a pidfile that names another process alone" do
      live = spawn_sleeper
      write_pid(live)
      daemon.remove_pidfile
      expect(daemon.pid).to eq(live)
    end
  end

  describe "#alive?" do
    it "treats an exited but not yet reaped child as gone" do
      pid = Process.spawn(RbConfig.ruby, "-e", "exit 0")
      wait_until(message: "zombie") { File.read("/proc/#{pid}/stat").split(") ").last.start_with?("Z") }
      expect(daemon.alive?(pid)).to be(false)
    ensure
      Process.wait(pid)
    end
  end

  describe "#stop" do
    it "sends TERM and returns once the process is gone" do
      pid = spawn_sleeper
      write_pid(pid)
      expect(daemon.stop(timeout: 10)).to eq(pid)
      expect(process_alive?(pid)).to be(false)
    end

    it "raises when nothing is running" do
      write_pid(dead_pid)
      expect { daemon.stop }.to raise_error(Racecar::Error, /not running: no process with pid \d+ \(stale pidfile/)
    end

    it "gives up after the timeout when the process ignores TERM" do
      pid = spawn_sleeper(trap_term: false)
      write_pid(pid)
      expect { daemon.stop(timeout: 0.5) }.to raise_error(Racecar::Error, /still running 0.5s after SIGTERM/)
    end
  end

  describe "#daemonize (in a real process)" do
    let(:logfile) { File.join(@dir, "log", "racecar.log") }
    let(:script) do
      <<~RUBY
        require "racecar/daemon"
        Racecar::Daemon.new(pidfile: ARGV[0]).daemonize(logfile: ARGV[1])
        trap("TERM") { exit 0 }
        puts "daemon up with pid \#{Process.pid}"
        warn "stderr goes to the log too"
        sleep 30
      RUBY
    end

    def start_daemon
      run_command("-I", File.join(CliSpecHelpers::ROOT, "lib"), "-e", script, pidfile, logfile)
    end

    it "returns to the caller at once, leaving a background process that owns the pidfile" do
      _out, _err, status = start_daemon
      expect(status.exitstatus).to eq(0)
      pid = wait_until(message: "pidfile") { daemon.pid }
      spawned_pids << pid
      expect(process_alive?(pid)).to be(true)
      expect(wait_until(message: "log") { File.exist?(logfile) && File.read(logfile)[/daemon up with pid (\d+)/, 1] }).to eq(pid.to_s)
      expect(File.read(logfile)).to include("stderr goes to the log too")
    end

    it "removes its pidfile when it exits" do
      start_daemon
      pid = wait_until(message: "pidfile") { daemon.pid }
      spawned_pids << pid
      Process.kill("TERM", pid)
      wait_until(message: "pidfile removal") { !File.exist?(pidfile) }
      expect(wait_until(message: "exit") { !daemon.alive?(pid) }).to be(true)
    end

    it "refuses to start while the pidfile names a live process" do
      live = spawn_sleeper
      write_pid(live)
      _out, err, status = start_daemon
      expect(status.exitstatus).to eq(1)
      expect(err).to include("already running with pid #{live}")
      expect(daemon.pid).to eq(live)
    end
  end
end
