# frozen_string_literal: true

require "open3"
require "rbconfig"
require "timeout"
require "tmpdir"

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
  def spawn_sleeper(trap_term: true, seconds: 60)
    script = trap_term ? "trap('TERM') { exit 0 }; sleep #{seconds}" : "trap('TERM') {}; sleep #{seconds}"
    pid = Process.spawn(RbConfig.ruby, "-e", script, %i[out err] => File::NULL)
    Process.detach(pid)
    spawned_pids << pid
    pid
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

RSpec.configure do |config|
  config.include CliSpecHelpers
  config.after { kill_spawned }
end
