# frozen_string_literal: true

require "fileutils"
require_relative "errors"

module Racecar
  # Runs racecar in the background and owns its pidfile. Also used by
  # racecarctl to find, query and stop such a process through the pidfile.
  class Daemon
    DEFAULT_LOGFILE = "log/racecar.log"
    DEFAULT_PIDFILE_DIR = "tmp/pids"

    attr_reader :pidfile

    # tmp/pids/racecar-<group id>.pid, relative to the working directory.
    def self.default_pidfile(name)
      File.join(DEFAULT_PIDFILE_DIR, "racecar-#{name.to_s.gsub(/[^\w.-]+/, '_')}.pid")
    end

    def initialize(pidfile:)
      @pidfile = File.expand_path(pidfile)
      @owner_pid = nil
    end

    # The pid the pidfile names, or nil when it is missing or does not hold one.
    def pid
      content = File.read(@pidfile).strip
      Integer(content, 10) if content.match?(/\A\d+\z/)
    rescue Errno::ENOENT, Errno::EISDIR
      nil
    end

    def running?
      (current = pid) ? alive?(current) : false
    end

    def alive?(pid)
      Process.kill(0, pid)
      !zombie?(pid)
    rescue Errno::ESRCH
      false
    rescue Errno::EPERM
      true # exists, but belongs to someone else
    end

    # Detaches from the terminal: the process forks into the background (the
    # parent exits 0), starts a new session, keeps the working directory so
    # relative paths in the configuration still mean the same thing, and
    # sends stdout and stderr, where crashes and the SIGUSR1 dump go, to
    # `logfile`. Then claims the pidfile for the new pid.
    def daemonize(logfile:)
      ensure_not_running!
      log = open_logfile(logfile)
      Process.daemon(true, true)
      $stdin.reopen(File::NULL)
      $stdout.reopen(log)
      $stderr.reopen(log)
      $stdout.sync = $stderr.sync = true
      log.close
      write_pidfile
    end

    # Raises when the pidfile names a live process. A stale pidfile is left
    # for #write_pidfile to replace.
    def ensure_not_running!
      current = pid
      return unless current && current != Process.pid && alive?(current)

      raise Error, "racecar is already running with pid #{current} (pidfile #{@pidfile}); " \
                   "stop it first (racecarctl stop --pidfile #{@pidfile}) or choose another --pidfile"
    end

    # Writes this process's pid. O_EXCL makes two racecars started at the same
    # time agree on one winner; a pidfile left by a dead process is replaced.
    # The file is removed when this process exits (but not by forked children).
    def write_pidfile
      FileUtils.mkdir_p(File.dirname(@pidfile))
      attempts = 0
      begin
        File.open(@pidfile, File::WRONLY | File::CREAT | File::EXCL, 0o644) { |f| f.write("#{Process.pid}\n") }
      rescue Errno::EEXIST
        ensure_not_running!
        attempts += 1
        raise Error, "could not claim pidfile #{@pidfile}" if attempts > 3

        File.delete(@pidfile) if File.exist?(@pidfile)
        retry
      end
      claim
    end

    # Removes the pidfile if it still names this process.
    def remove_pidfile
      File.delete(@pidfile) if pid == Process.pid
    rescue Errno::ENOENT
      nil
    end

    # Sends `signal` to the process in the pidfile and waits up to `timeout`
    # seconds for it to be gone. Returns the pid; raises when nothing is
    # running or it outlives the timeout.
    def stop(signal: "TERM", timeout: 30, poll_interval: 0.1)
      current = pid
      raise Error, "racecar is not running: #{not_running_reason(current)}" unless current && alive?(current)

      begin
        Process.kill(signal, current)
      rescue Errno::ESRCH
        return current
      end
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      while alive?(current)
        if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
          raise Error, "racecar (pid #{current}) is still running #{timeout}s after SIG#{signal}"
        end

        sleep(poll_interval)
      end
      current
    end

    # Why #running? is false, for messages.
    def not_running_reason(current = pid)
      if !File.exist?(@pidfile)
        "pidfile #{@pidfile} does not exist"
      elsif current.nil?
        "pidfile #{@pidfile} does not contain a pid"
      else
        "no process with pid #{current} (stale pidfile #{@pidfile})"
      end
    end

    private

    # An exited process nobody has reaped yet still answers kill(0); on Linux
    # its state says it is gone.
    def zombie?(pid)
      File.read("/proc/#{pid}/stat").split(") ", 2).last.to_s.start_with?("Z")
    rescue SystemCallError
      false
    end

    def claim
      return if @owner_pid == Process.pid

      @owner_pid = Process.pid
      owner = @owner_pid
      at_exit { remove_pidfile if Process.pid == owner }
    end

    def open_logfile(logfile)
      FileUtils.mkdir_p(File.dirname(File.expand_path(logfile)))
      File.open(logfile, "a")
    rescue SystemCallError => e
      raise Error, "cannot open log file #{logfile} for the daemon: #{e.message}"
    end
  end
end
