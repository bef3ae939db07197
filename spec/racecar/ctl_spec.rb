# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# Runs the real exe/racecarctl in a child process against real pidfiles,
# processes and liveness files.
RSpec.describe "racecarctl", :cli do
  around do |example|
    Dir.mktmpdir("racecarctl") do |dir|
      @dir = dir
      example.run
    end
  end

  let(:pidfile) { File.join(@dir, "racecar.pid") }

  def ctl(*args, env: {})
    racecarctl(*args, env: env, chdir: @dir)
  end

  describe "help" do
    %w[help --help -h].each do |spelling|
      it "lists every command for `racecarctl #{spelling}` and exits 0" do
        out, _err, status = ctl(spelling)
        expect(status.exitstatus).to eq(0)
        %w[stop status produce liveness_probe help].each { |command| expect(out).to match(/^  #{command} /) }
      end
    end

    it "lists the commands on stdout and exits 0 without a command, as upstream" do
      out, _err, status = ctl
      expect([status.exitstatus, out])
        .to eq([0, "No command specified. Commands:\n - status\n - stop\n - produce\n - liveness_probe\n"])
    end

    it "names an unknown command, exiting 1" do
      _out, err, status = ctl("restart")
      expect([status.exitstatus, err]).to eq([1, "Error: invalid command: restart\n"])
    end

    it "shows a command's options with --help" do
      out, _err, status = ctl("stop", "--help")
      expect([status.exitstatus, out]).to match([0, /--pidfile FILE.*--timeout SECONDS/m])
    end
  end

  describe "status" do
    it "says running with the pid when the pidfile names a live process" do
      pid = spawn_sleeper
      File.write(pidfile, "#{pid}\n")
      out, _err, status = ctl("status", "--pidfile", "racecar.pid")
      expect([status.exitstatus, out]).to eq([0, "running (PID = #{pid})\n"])
    end

    it "says dead for a stale pidfile" do
      File.write(pidfile, "#{dead_pid}\n")
      out, _err, status = ctl("status", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "dead\n"])
    end

    it "says exited without a pidfile" do
      out, _err, status = ctl("status", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "exited\n"])
    end

    it "takes the pidfile from RACECAR_PIDFILE" do
      pid = spawn_sleeper
      File.write(pidfile, "#{pid}\n")
      out, _err, status = ctl("status", env: { "RACECAR_PIDFILE" => pidfile })
      expect([status.exitstatus, out]).to eq([0, "running (PID = #{pid})\n"])
    end

    it "needs a pidfile" do
      _out, err, status = ctl("status")
      expect([status.exitstatus, err]).to eq([1, "Error: No pidfile specified\n"])
    end
  end

  describe "stop" do
    it "sends TERM, waits for the process to exit and exits 0" do
      pid = spawn_sleeper
      File.write(pidfile, "#{pid}\n")
      out, _err, status = ctl("stop", "--pidfile", pidfile)
      expect(status.exitstatus).to eq(0)
      expect(out).to match(/\A(Waiting for Racecar process to stop\.\.\.\n)?Racecar stopped\n\z/)
      expect(process_alive?(pid)).to be(false)
    end

    it "says so and exits 0 when nothing is running" do
      out, _err, status = ctl("stop", "--pidfile", pidfile)
      expect([status.exitstatus, out]).to eq([0, "Racecar is not currently running\n"])
    end

    it "exits 1 when the process outlives --timeout" do
      pid = spawn_sleeper(trap_term: false)
      File.write(pidfile, "#{pid}\n")
      _out, err, status = ctl("stop", "--pidfile", pidfile, "--timeout", "0.5")
      expect(status.exitstatus).to eq(1)
      expect(err).to include("(pid #{pid}) is still running 0.5s after SIGTERM")
      expect(process_alive?(pid)).to be(true)
    end
  end

  describe "produce" do
    it "requires a topic and a value" do
      _out, err, status = ctl("produce", "-v", "hello")
      expect([status.exitstatus, err]).to eq([1, "Error: no topic specified\n"])
      _out, err, status = ctl("produce", "-t", "greetings")
      expect([status.exitstatus, err]).to eq([1, "Error: no message value specified\n"])
    end
  end

  describe "liveness_probe (with config files)" do
    it "takes its settings from the RAILS_ENV section of config/racecar.yml" do
      probe_file = File.join(@dir, "from-yaml-alive")
      FileUtils.mkdir_p(File.join(@dir, "config"))
      File.write(File.join(@dir, "config", "racecar.yml"),
                 "staging:\n  liveness_probe_file_path: #{probe_file}\n  liveness_probe_max_interval: 30\n")
      _out, err, status = ctl("liveness_probe", env: { "RAILS_ENV" => "staging" })
      expect([status.exitstatus, err])
        .to eq([1, "Racecar healthcheck failed: Liveness file not found `#{probe_file}`\n"])
      File.write(probe_file, "")
      expect(ctl("liveness_probe", env: { "RAILS_ENV" => "staging" })[2].exitstatus).to eq(0)
    end
  end

  describe "liveness_probe (skipping config files)" do
    let(:probe_file) { File.join(@dir, "alive") }
    let(:env) do
      {
        "RACECAR_LIVENESS_PROBE_SKIP_CONFIG_FILES" => "true",
        "RACECAR_LIVENESS_PROBE_FILE_PATH" => probe_file,
        "RACECAR_LIVENESS_PROBE_MAX_INTERVAL" => "5"
      }
    end

    def touch(age)
      File.write(probe_file, "")
      time = Time.now - age
      File.utime(time, time, probe_file)
    end

    it "exits 0 when the file is fresh" do
      touch(1)
      out, err, status = ctl("liveness_probe", env: env)
      expect([status.exitstatus, out, err]).to eq([0, "", ""])
    end

    it "exits 1 and gives the age when the file is stale" do
      touch(12.3)
      _out, err, status = ctl("liveness_probe", env: env)
      expect(status.exitstatus).to eq(1)
      expect(err).to match(
        /\ARacecar healthcheck failed: No liveness within interval 5s\. Last liveness at .+, 12\.\d+ seconds ago\.\n\z/
      )
    end

    it "exits 1 and says so when the file is missing" do
      _out, err, status = ctl("liveness_probe", env: env)
      expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{probe_file}`\n"])
    end

    it "reads neither config file nor the native extension, and is fast" do
      touch(0)
      FileUtils.mkdir_p(File.join(@dir, "config"))
      File.write(File.join(@dir, "config", "racecar.rb"), "raise 'config/racecar.rb must not be loaded'\n")
      File.write(File.join(@dir, "config", "racecar.yml"), "<% raise 'racecar.yml must not be loaded' %>\n")
      File.write(File.join(@dir, "config", "environment.rb"), "raise 'Rails must not boot'\n")
      script = "load ARGV.shift; at_exit { warn \"native loaded\" if $LOADED_FEATURES.any? { |f| f.include?(\"racecar_native\") } }"
      # Against a bare Ruby started just before, so a loaded machine slows both alike.
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      run_command("-e", "nil")
      bare_ruby = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      _out, err, status = run_command("-e", script, CliSpecHelpers::RACECARCTL, "liveness_probe", env: env, chdir: @dir)
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      expect([status.exitstatus, err]).to eq([0, ""])
      expect(elapsed).to be < (3 * bare_ruby) + 0.5
    end
  end
end
