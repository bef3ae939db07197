# frozen_string_literal: true

require_relative "signals"
require_relative "parent_lifeline"
require_relative "cli/crash_report"

module Racecar
  # Runs `worker_count` copies of a consumer, each in its own forked process,
  # so that each joins the consumer group as a separate member.
  #
  # Nothing Kafka-related may exist before the fork (librdkafka's threads do
  # not survive it), so the parent holds only a factory: each child calls
  # `worker.call(index)` to build its consumer and runner, then runs it.
  #
  # The parent forwards TERM/INT/QUIT to the workers. When a worker exits
  # without having been asked to, the others are stopped too and #run returns
  # 1; after a requested stop it returns 0 if every worker stopped cleanly.
  # When the parent dies without stopping them (SIGKILL, a crash), each worker
  # notices through a ParentLifeline, stops, and is gone within
  # ORPHAN_GRACE seconds: workers never keep consuming as orphans.
  class ParallelRunner
    # Long enough for a graceful stop (offset commit, leaving the group).
    ORPHAN_GRACE = 30

    # worker: a callable taking the worker index (0-based) and returning an
    # object with #run (blocks until stopped) and #stop (trap-safe).
    # on_usr1: called (outside the trap) when the parent gets SIGUSR1.
    def initialize(worker_count:, worker:, logger:, on_usr1: nil)
      raise ArgumentError, "worker_count must be at least 1" unless worker_count.to_i >= 1

      @worker_count = worker_count.to_i
      @worker = worker
      @logger = logger
      @on_usr1 = on_usr1
      @workers = {} # pid => index
      @lock = Mutex.new
      @stopping = false
      @failed = false
    end

    # Forks the workers and waits for all of them. Returns the exit status
    # this process should end with.
    def run
      signals = Signals.new.on(Signals::STOP, immediate: -> { @stopping = true }) do |name|
        warn("=> Terminating workers")
        @logger.info("Received SIG#{name}, stopping the workers")
        forward(name)
      end
      signals.on("USR1") { @on_usr1.call } if @on_usr1
      signals.install
      @lifeline = ParentLifeline.new
      begin
        @worker_count.times do |index|
          break if @stopping

          fork_worker(index, signals)
        end
        forward("TERM") if @stopping # a signal that came in while forking
        wait_for_workers
      ensure
        signals.uninstall
        terminate_remaining
        @lifeline.close
      end
      @failed ? 1 : 0
    end

    private

    def fork_worker(index, signals)
      pid = Process.fork do
        signals.discard_after_fork
        status = run_worker(index)
        $stdout.flush
        $stderr.flush
        # exit! skips at_exit hooks inherited from the parent (its pidfile
        # removal, test frameworks) that must run only once, in the parent.
        Process.exit!(status)
      end
      @lock.synchronize { @workers[pid] = index }
      @logger.info("=> Forked new Racecar consumer with process id #{pid}")
      @logger.info("Started worker #{index} with pid #{pid}")
    end

    def run_worker(index)
      runner = nil
      stop_requested = false
      signals = Signals.new.on(Signals::STOP, immediate: lambda {
        stop_requested = true
        runner&.stop
      }) { |name| @logger.info("Worker #{index} (pid #{Process.pid}) received SIG#{name}, stopping") }
      signals.install
      @lifeline.watch(grace: ORPHAN_GRACE) do |parent|
        @logger.error("Worker #{index} (pid #{Process.pid}): parent pid #{parent} is gone, stopping")
        stop_requested = true
        runner&.stop
      end
      runner = @worker.call(index)
      runner.run unless stop_requested
      0
    rescue SystemExit => e
      e.status
    rescue Exception => e # rubocop:disable Lint/RescueException -- reported, then turned into the exit status
      report = Cli::CrashReport.new(e).to_s
      warn("racecar worker #{index} (pid #{Process.pid}) crashed: #{report}")
      @logger.error("Worker #{index} (pid #{Process.pid}) crashed: #{report}")
      1
    ensure
      signals&.uninstall
    end

    def wait_for_workers
      loop do
        pid, status = Process.wait2(-1)
        index = @lock.synchronize { @workers.delete(pid) }
        next if index.nil? # a child the application started itself

        worker_exited(pid, index, status)
      rescue Errno::ECHILD
        break
      end
    end

    def worker_exited(pid, index, status)
      if @stopping
        if status.success?
          @logger.info("Worker #{index} (pid #{pid}) stopped")
        else
          @failed = true
          @logger.error("Worker #{index} (pid #{pid}) #{describe(status)} while stopping")
        end
      else
        @failed = true
        @logger.error("Worker #{index} (pid #{pid}) #{describe(status)}; stopping the other workers")
        warn("=> Terminating workers")
        @stopping = true
        forward("TERM")
      end
    end

    def describe(status)
      if status.signaled?
        "was killed by SIG#{Signal.signame(status.termsig)}"
      else
        "exited with status #{status.exitstatus}"
      end
    end

    def forward(name)
      pids = @lock.synchronize { @workers.keys }
      pids.each do |pid|
        Process.kill(name, pid)
      rescue Errno::ESRCH
        nil
      end
    end

    # Only reached with workers left when the parent itself failed: do not
    # leave orphans consuming in the background.
    def terminate_remaining
      pids = @lock.synchronize { @workers.keys }
      return if pids.empty?

      @failed = true
      pids.each do |pid|
        Process.kill("TERM", pid)
        Process.wait(pid)
      rescue Errno::ESRCH, Errno::ECHILD
        nil
      end
    end
  end
end
