# frozen_string_literal: true

# A per-example watchdog: an example (with its before/after hooks) that runs
# past its bound is explained instead of hanging the run. The watchdog prints
# every Ruby thread's backtrace and this process's descendant processes, kills
# those descendants (everything this rspec process started, nothing else),
# then raises SpecWatchdog::Timeout in the example's thread so the example
# fails and the run goes on. An example that is still running a grace period
# later (a C call that cannot be interrupted, a `rescue Exception` loop) ends
# the whole run with exit status 3, after a second dump.
#
# Bounds, in seconds:
#   default               180, or $RACECAR_SPEC_TIMEOUT
#   one example / group   metadata `timeout: 600`
#   grace after the raise 30, or $RACECAR_SPEC_TIMEOUT_GRACE
# Every bound is multiplied by $RACECAR_SPEC_TIMEOUT_SCALE (default 1, or 20
# when the run is under valgrind, which slows everything down that much).
class SpecWatchdog
  # Not a StandardError, so a spec's own `rescue => e` cannot swallow it.
  class Timeout < Exception # rubocop:disable Lint/InheritException
  end

  ABORT_STATUS = 3
  # Enough to reach from the hung call back through the example into rspec.
  FRAMES_SHOWN = 30

  Watch = Struct.new(:description, :thread, :seconds, :deadline, :stage)

  def self.scale(env = ENV)
    return Float(env["RACECAR_SPEC_TIMEOUT_SCALE"]) if env["RACECAR_SPEC_TIMEOUT_SCALE"]

    # valgrind's preloaded helper is the one reliable sign of running under it.
    env["LD_PRELOAD"].to_s.include?("vgpreload") ? 20.0 : 1.0
  end

  def self.from_env(env = ENV, out: $stderr)
    new(default_seconds: Float(env.fetch("RACECAR_SPEC_TIMEOUT", "180")),
        grace: Float(env.fetch("RACECAR_SPEC_TIMEOUT_GRACE", "30")),
        scale: scale(env), out: out)
  end

  def initialize(default_seconds:, grace:, scale: 1.0, out: $stderr)
    @default_seconds = default_seconds
    @grace = grace
    @scale = scale
    @out = out
    @mutex = Mutex.new
    @changed = ConditionVariable.new
    @watch = nil
    @watcher = nil
  end

  # Runs the block (an example) under the watchdog; seconds nil means the default bound.
  def guard(description, seconds = nil)
    bound = (seconds || @default_seconds) * @scale
    arm(Watch.new(description, Thread.current, bound, monotonic + bound, :running))
    yield
  ensure
    disarm
  end

  private

  def arm(watch)
    @mutex.synchronize do
      start_watcher
      @watch = watch
      @changed.signal
    end
  end

  def disarm
    @mutex.synchronize do
      @watch = nil
      @changed.signal
    end
  end

  # One long-lived thread for the whole run rather than one per example, so
  # specs that count threads see the same extra thread before and after.
  def start_watcher
    return if @watcher&.alive?

    @watcher = Thread.new { watch_loop }
    @watcher.name = "spec-watchdog"
    @watcher.report_on_exception = true
  end

  def watch_loop
    loop do
      expired = @mutex.synchronize { wait_for_expiry }
      expired.stage == :running ? time_out(expired) : abort_run(expired)
    end
  end

  # Called with the mutex held; returns the watch whose deadline passed.
  def wait_for_expiry
    loop do
      if @watch.nil?
        @changed.wait(@mutex)
      else
        remaining = @watch.deadline - monotonic
        return @watch if remaining <= 0

        @changed.wait(@mutex, remaining)
      end
    end
  end

  def time_out(watch)
    report("example still running after #{format('%.0f', watch.seconds)} s: #{watch.description}")
    kill_descendants
    @mutex.synchronize do
      # The example may have finished while we were reporting.
      next unless @watch.equal?(watch)

      watch.stage = :raised
      watch.deadline = monotonic + @grace * @scale
      watch.thread.raise(Timeout, "timed out after #{format('%.0f', watch.seconds)} s (spec watchdog; " \
                                  "thread backtraces and child processes are on stderr)")
    end
  end

  def abort_run(watch)
    report("example did not end #{format('%.0f', @grace * @scale)} s after the watchdog raised in it; " \
           "aborting the run: #{watch.description}")
    kill_descendants
    @out.flush
    Process.exit!(ABORT_STATUS)
  end

  def report(headline)
    lines = ["", "=" * 78, "spec watchdog: #{headline}", "", "Ruby threads (#{Thread.list.size}):"]
    Thread.list.each { |thread| lines.concat(thread_lines(thread)) }
    tree = ProcessTree.new
    descendants = tree.descendants_of(Process.pid)
    lines << "" << "child processes of rspec (pid #{Process.pid}): #{descendants.empty? ? 'none' : descendants.size}"
    descendants.each { |pid| lines << "  #{tree.describe(pid)}" }
    lines << "=" * 78
    @out.puts(lines.join("\n"))
    @out.flush
  end

  def thread_lines(thread)
    name = thread.name || (thread == Thread.main ? "main" : "unnamed")
    header = "  thread #{name} #{thread.inspect[/0x\h+/]} status=#{thread.status.inspect}"
    return ["#{header} (this watchdog)"] if thread == Thread.current

    backtrace = thread.backtrace || []
    shown = backtrace.first(FRAMES_SHOWN).map { |frame| "      #{frame}" }
    shown << "      ... #{backtrace.size - FRAMES_SHOWN} more frames" if backtrace.size > FRAMES_SHOWN
    [header, *shown]
  end

  # TERM first so children can clean up (and take their own children with
  # them), then KILL whatever is left of the tree as it was when we looked.
  def kill_descendants
    pids = ProcessTree.new.descendants_of(Process.pid)
    return if pids.empty?

    signal(pids, "TERM")
    deadline = monotonic + 2
    sleep 0.05 while pids.any? { |pid| alive?(pid) } && monotonic < deadline
    signal(pids, "KILL")
    @out.puts("spec watchdog: signalled child processes #{pids.join(', ')} (TERM, then KILL)")
  end

  def signal(pids, name)
    pids.each do |pid|
      Process.kill(name, pid)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end
  end

  def alive?(pid)
    state = File.read("/proc/#{pid}/stat")[/\) (\S)/, 1]
    state && state != "Z"
  rescue SystemCallError
    false
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Processes from /proc, which needs no ps (a minimal chroot has none).
  class ProcessTree
    def initialize
      @stats = Dir.glob("/proc/[0-9]*").to_h do |dir|
        pid = Integer(File.basename(dir))
        [pid, read_stat(dir)]
      end.compact
    end

    # Breadth first, so parents come before their children.
    def descendants_of(root)
      children = Hash.new { |hash, key| hash[key] = [] }
      @stats.each { |pid, stat| children[stat[:ppid]] << pid }
      found = []
      queue = [root]
      until queue.empty?
        kids = children[queue.shift].sort
        found.concat(kids)
        queue.concat(kids)
      end
      found
    end

    def describe(pid)
      stat = @stats.fetch(pid)
      "pid #{pid} ppid #{stat[:ppid]} state #{stat[:state]}: #{command_line(pid) || "[#{stat[:comm]}]"}"
    end

    private

    def read_stat(dir)
      text = File.read(File.join(dir, "stat"))
      # comm is in parentheses and may itself contain spaces or parentheses.
      comm = text[/\((.*)\)/m, 1]
      fields = text[(text.rindex(")") + 2)..].split
      { comm: comm, state: fields[0], ppid: Integer(fields[1]) }
    rescue SystemCallError, ArgumentError, NoMethodError
      nil # the process ended while we looked
    end

    def command_line(pid)
      argv = File.read("/proc/#{pid}/cmdline").split("\0")
      argv.empty? ? nil : argv.join(" ")
    rescue SystemCallError
      nil
    end
  end
end
