# frozen_string_literal: true

require "io/wait"
require "open3"
require "rbconfig"
require "timeout"
require "tmpdir"
require_relative "kafka"

# Helpers for specs that run racecar's executables and watch real processes.
module CliSpecHelpers
  ROOT = File.expand_path("../..", __dir__)
  RACECAR = File.join(ROOT, "exe", "racecar")
  RACECARCTL = File.join(ROOT, "exe", "racecarctl")

  # Runs a command to completion; returns [stdout, stderr, Process::Status].
  def run_command(*argv, env: {}, chdir: Dir.pwd, timeout: 30, stdin_data: "")
    Timeout.timeout(timeout) do
      Open3.capture3(env, RbConfig.ruby, *argv, chdir: chdir, stdin_data: stdin_data)
    end
  end

  def racecarctl(*args, **options)
    run_command(RACECARCTL, *args, **options)
  end

  # Polls until the block returns a truthy value, or fails the example.
  def wait_until(timeout: 10, interval: 0.05, message: "condition")
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      result = yield
      return result if result
      raise "timed out after #{timeout}s waiting for #{message}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep(interval)
    end
  end

  def process_alive?(pid)
    Process.kill(0, pid)
    true
  rescue Errno::ESRCH
    false
  end

  # Starts a plain Ruby process that just sleeps (until TERM), reaped in the
  # background so it does not linger as a zombie that still looks alive.
  # Returns once the child has installed its TERM handler and said so on a
  # pipe, so a signal sent next meets the handler, never Ruby's default.
  def spawn_sleeper(trap_term: true, seconds: 60)
    handler = trap_term ? "exit 0" : ""
    script = "trap('TERM') { #{handler} }; $stdout.puts 'ready'; $stdout.close; sleep #{seconds}"
    reader, writer = IO.pipe
    pid = Process.spawn(RbConfig.ruby, "-e", script, out: writer, err: File::NULL)
    writer.close
    Process.detach(pid)
    spawned_pids << pid
    await_line(reader, "ready", what: "the sleeper (pid #{pid}) to install its TERM handler")
    pid
  ensure
    reader&.close
  end

  # Reads lines from io until one equals `expected`; fails after `timeout` s or at EOF.
  def await_line(io, expected, what:, timeout: 30)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    seen = +""
    loop do
      remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      raise "timed out after #{timeout}s waiting for #{what}; read #{seen.inspect}" if remaining <= 0

      raise "gave up waiting for #{what}: the pipe closed; read #{seen.inspect}" unless io.wait_readable(remaining)

      line = io.gets
      raise "gave up waiting for #{what}: the pipe closed; read #{seen.inspect}" if line.nil?
      return if line.chomp == expected

      seen << line
    end
  end

  def spawned_pids
    @spawned_pids ||= []
  end

  def kill_spawned
    spawned_pids.each do |pid|
      Process.kill("KILL", pid)
    rescue Errno::ESRCH
      nil
    end
  end

  # A pid that is certainly not running: a child that has exited and been reaped.
  def dead_pid
    pid = Process.spawn(RbConfig.ruby, "-e", "exit 0")
    Process.wait(pid)
    pid
  end
end

# Only in example groups tagged :cli, so these helper names stay out of
# everyone else's specs.
RSpec.configure do |config|
  config.include CliSpecHelpers, :cli
  config.after(:example, :cli) { kill_spawned }
end

# A racecar (or any) child process whose stdout and stderr go to files, so
# that specs can read what it printed so far while it keeps running.
class CliSpecProcess
  attr_reader :pid

  def initialize(argv, env:, chdir:, log_dir:)
    @out_path = File.join(log_dir, "stdout-#{object_id}.log")
    @err_path = File.join(log_dir, "stderr-#{object_id}.log")
    @pid = Process.spawn(env, RbConfig.ruby, *argv, chdir: chdir, in: File::NULL, out: @out_path, err: @err_path)
    @status = nil
  end

  def stdout
    File.exist?(@out_path) ? File.read(@out_path) : ""
  end

  def stderr
    File.exist?(@err_path) ? File.read(@err_path) : ""
  end

  def signal(name)
    Process.kill(name, @pid)
  end

  # Waits for the process to exit; returns its Process::Status, or nil on timeout.
  def wait(timeout: 30)
    return @status if @status

    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      _, status = Process.wait2(@pid, Process::WNOHANG)
      return @status = status if status
      return nil if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
  end

  def running?
    @status.nil? && wait(timeout: 0).nil?
  end

  # Kills it if a failed example left it running.
  def kill
    return unless running?

    Process.kill("KILL", @pid)
    wait(timeout: 5)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end

  def describe
    "stdout:\n#{stdout}\nstderr:\n#{stderr}"
  end
end

# For spec/integration/cli_*_spec.rb: run the real exe/racecar against the
# broker from `bin/kafka start` (127.0.0.1:$KAFKA_PORT, 9092 by default).
module CliIntegrationHelpers
  BROKER = KafkaHelpers::BROKERS

  def unique_name(prefix)
    require "securerandom"
    "#{prefix}-#{SecureRandom.hex(5)}"
  end

  # Starts exe/racecar in `chdir` with RACECAR_BROKERS pointing at the spec broker.
  def start_racecar(*args, env: {}, chdir:)
    process = CliSpecProcess.new([CliSpecHelpers::RACECAR, *args], env: { "RACECAR_BROKERS" => BROKER }.merge(env),
                                                                   chdir: chdir, log_dir: chdir)
    racecar_processes << process
    process
  end

  def racecar_processes
    @racecar_processes ||= []
  end

  # Produces with `racecarctl produce`, which also exercises that command.
  def produce_with_racecarctl(topic, value, partition: nil, env: {}, chdir: Dir.pwd)
    args = ["produce", "-t", topic, "-v", value]
    args += ["--partition", partition.to_s] if partition
    out, err, status = racecarctl(*args, env: { "RACECAR_BROKERS" => BROKER }.merge(env), chdir: chdir)
    raise "racecarctl produce failed (#{status.exitstatus}): #{out}#{err}" unless status.success?

    out
  end

  # Source of a consumer class that appends "pid partition value" for every
  # message to $SPEC_OUTPUT, reading $SPEC_TOPIC: what #consumed parses.
  def recording_consumer_source(class_name)
    <<~RUBY
      class #{class_name} < Racecar::Consumer
        subscribes_to ENV.fetch("SPEC_TOPIC")

        def process(message)
          File.open(ENV.fetch("SPEC_OUTPUT"), "a") do |file|
            file.puts([Process.pid, message.partition, message.value].join(" "))
          end
        end
      end
    RUBY
  end

  # Lines "pid partition value" written by recording_consumer_source's consumers.
  def consumed(path)
    return [] unless File.exist?(path)

    File.readlines(path, chomp: true).map do |line|
      pid, partition, value = line.split(" ", 3)
      { pid: pid.to_i, partition: partition.to_i, value: value }
    end
  end
end

# Tag these groups `:kafka, :cli, :cli_integration`: spec_helper's :kafka hook
# fails them loudly when the broker is down.
RSpec.configure do |config|
  config.include CliIntegrationHelpers, :cli_integration
  config.after(:example, :cli_integration) { racecar_processes.each(&:kill) }
end
