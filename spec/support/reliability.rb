# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "securerandom"
require "tmpdir"

# Helpers for spec/reliability: streams of uniquely numbered messages,
# racecar consumer processes that write down every message they processed
# (fsync'ed before `process` returns, so a record exists for everything whose
# offset could have been committed), and a ledger that proves from those
# records that nothing was lost, how much was processed twice, and in which
# order each partition was worked through.
#
# RELIABILITY_SCALE=long runs every scenario for longer with more messages;
# the default (short) is what CI runs.
module ReliabilityHelpers
  ROOT = File.expand_path("../..", __dir__)
  RACECAR = File.join(ROOT, "exe", "racecar")
  LONG = ENV.fetch("RELIABILITY_SCALE", "short") == "long"

  # The consumer every child process runs. Faults are switched on and off by
  # files in the control directory, so the spec can steer a process it only
  # knows by pid:
  #   fail-<partition>  process raises for messages of that partition
  #   block-<pid>       process of that pid sleeps while the file exists
  CONSUMER_SOURCE = <<~RUBY
    # frozen_string_literal: true

    class ReliabilityConsumer < Racecar::Consumer
      subscribes_to ENV.fetch("RELIABILITY_TOPIC")
      self.group_id = ENV.fetch("RELIABILITY_GROUP")

      def initialize
        super
        @log = File.open(ENV.fetch("RELIABILITY_LOG"), "a")
        @log.sync = true
        @control = ENV.fetch("RELIABILITY_CONTROL")
        @delay = Float(ENV.fetch("RELIABILITY_DELAY", "0"))
        @block_file = File.join(@control, "block-\#{Process.pid}")
      end

      def process(message)
        if File.exist?(File.join(@control, "fail-\#{message.partition}"))
          raise "injected failure for partition \#{message.partition}"
        end

        # The time processing began, not ended: a message this member was
        # blocked in is dated before the group moved its partition, so the
        # ledger does not read the new owner's offsets as skipped by this one
        # when the partition comes back to it.
        began = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        block_while_asked
        sleep(@delay) if @delay.positive?
        @log.write("\#{Process.pid} \#{message.partition} \#{message.offset} \#{message.value} \#{began}\\n")
        @log.fsync
      end

      private

      def block_while_asked
        return unless File.exist?(@block_file)

        File.write("\#{@block_file}.started", "")
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 120
        sleep(0.05) while File.exist?(@block_file) && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      end
    end
  RUBY

  # Kafka protocol API keys and error codes, as librdkafka's mock cluster
  # takes them.
  module KafkaProtocol
    PRODUCE = 0
    FETCH = 1
    OFFSET_COMMIT = 8
    HEARTBEAT = 12
    NOT_LEADER_OR_FOLLOWER = 6
    REQUEST_TIMED_OUT = 7
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
  end

  def self.now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # One processed message as a consumer process wrote it down.
  Record = Struct.new(:pid, :partition, :offset, :number, :at)

  # `exe/racecar ReliabilityConsumer` in a child process.
  class ConsumerProcess
    attr_reader :pid, :log_path, :started_at

    def initialize(workdir:, index:, env:)
      @log_path = File.join(workdir, "processed-#{index}.log")
      @out_path = File.join(workdir, "racecar-#{index}.out")
      consumer_file = File.join(workdir, "reliability_consumer.rb")
      argv = [RbConfig.ruby, RACECAR, "--without-rails", "--require", consumer_file, "ReliabilityConsumer"]
      @started_at = ReliabilityHelpers.now
      @pid = Process.spawn(env.merge("RELIABILITY_LOG" => @log_path), *argv,
                           chdir: workdir, in: File::NULL, %i[out err] => @out_path)
      @status = nil
    end

    def running?
      return false if @status

      _, status = Process.wait2(@pid, Process::WNOHANG)
      @status = status if status
      @status.nil?
    end

    def records
      File.exist?(@log_path) ? File.readlines(@log_path).count { |line| line.end_with?("\n") } : 0
    end

    def kill
      Process.kill("KILL", @pid)
      wait(10)
    end

    # Graceful stop; returns the exit status (nil if it did not exit in time).
    def terminate(timeout = 60)
      Process.kill("TERM", @pid) if running?
      wait(timeout)
    end

    def wait(timeout)
      deadline = ReliabilityHelpers.now + timeout
      sleep(0.05) while running? && ReliabilityHelpers.now < deadline
      @status
    end

    def output
      File.exist?(@out_path) ? File.read(@out_path) : ""
    end

    def describe
      "racecar pid #{@pid} (#{@status&.inspect || 'running'}), last output:\n#{output.lines.last(40).join}"
    end
  end

  # Produces numbers 0, 1, 2, ... in a background thread at a steady rate,
  # number n to partition n % partitions, through a raw native producer.
  class NumberedStream
    attr_reader :sent

    def initialize(brokers:, topic:, partitions:, rate:)
      @topic = topic
      @partitions = partitions
      @rate = rate
      @producer = Racecar::Native::Producer.new("bootstrap.servers" => brokers, "linger.ms" => "5")
      @sent = 0
      @stop = false
    end

    # Produces `count` numbers; returns the thread doing it.
    def start(count)
      @thread = Thread.new { produce(count) }
      @thread.report_on_exception = false
      self
    end

    def finish(timeout = 120)
      raise "the numbered stream did not finish within #{timeout}s" unless @thread.join(timeout)

      @thread.value
      @producer.close(30)
      self
    end

    def stop
      @stop = true
      finish
    end

    def done?
      !@thread.alive?
    end

    private

    def produce(count)
      started = ReliabilityHelpers.now
      tick = 0.05
      per_tick = [(@rate * tick).round, 1].max
      number = 0
      while number < count && !@stop
        tracker = Racecar::Native::DeliveryTracker.new
        per_tick.times do
          break if number >= count

          @producer.produce(@topic, number.to_s, nil, number % @partitions, nil, nil, tracker)
          number += 1
        end
        raise "stream delivery to #{@topic} timed out" unless tracker.wait(60)

        failures = tracker.take_failures
        raise "stream delivery to #{@topic} failed: #{failures.first.inspect}" unless failures.empty?

        @sent = number
        pause = started + (number.to_f / @rate) - ReliabilityHelpers.now
        sleep(pause) if pause.positive?
      end
    end
  end

  # Racecar.produce_sync-style producing through a Racecar::Producer, one
  # number at a time, retrying a number whose produce_sync raised until it
  # is acknowledged; records how long every call took.
  class SyncStream
    attr_reader :acknowledged, :failures, :durations

    def initialize(producer:, topic:, partitions:, interval:)
      @producer = producer
      @topic = topic
      @partitions = partitions
      @interval = interval
      @acknowledged = []
      @failures = []
      @durations = []
      @stop = false
    end

    def start
      @thread = Thread.new { run }
      @thread.report_on_exception = false
      self
    end

    def stop(timeout = 120)
      @stop = true
      raise "the produce_sync stream did not stop within #{timeout}s" unless @thread.join(timeout)

      @thread.value
      self
    end

    def longest_call
      @durations.max || 0.0
    end

    private

    def run
      number = 0
      until @stop
        started = ReliabilityHelpers.now
        begin
          @producer.produce_sync(value: number.to_s, topic: @topic, partition: number % @partitions)
          @durations << (ReliabilityHelpers.now - started)
          @acknowledged << number
          number += 1
          sleep(@interval)
        rescue Racecar::MessageDeliveryError => e
          @durations << (ReliabilityHelpers.now - started)
          @failures << [e, @durations.last]
          sleep(0.2)
        end
      end
    end
  end

  # Everything the consumer processes wrote down, and what it proves.
  class Ledger
    attr_reader :records

    def initialize(workdir)
      @records = Dir[File.join(workdir, "processed-*.log")].flat_map { |path| parse(path) }
      @records.sort_by!(&:at)
    end

    def processed
      @records.size
    end

    # Processings of a (partition, offset) that had been processed before.
    def duplicates
      processed - @records.map { |r| [r.partition, r.offset] }.uniq.size
    end

    def lost(sent_numbers)
      seen = @records.to_h { |r| [r.number, true] }
      sent_numbers.reject { |n| seen[n] }
    end

    def pids
      @records.map(&:pid).uniq
    end

    def by_partition
      @records.group_by(&:partition)
    end

    # The time-ordered records of one partition cut into runs by the process
    # that did them: one run per stretch of ownership.
    def runs(partition)
      (by_partition[partition] || []).chunk_while { |a, b| a.pid == b.pid }.to_a
    end

    # Where a member, during one stretch of ownership, skipped offsets. (Going
    # back is a redelivery from the last commit, which duplicates count.)
    def order_violations
      by_partition.keys.sort.flat_map do |partition|
        runs(partition).flat_map do |run|
          run.each_cons(2).select { |a, b| b.offset > a.offset + 1 }.map do |a, b|
            "partition #{partition}: pid #{a.pid} went from offset #{a.offset} to #{b.offset}"
          end
        end
      end
    end

    # Where a new owner started past the offset after the previous owner's
    # last one (it skipped messages).
    def handover_gaps
      by_partition.keys.sort.flat_map do |partition|
        runs(partition).each_cons(2).select { |a, b| b.first.offset > a.last.offset + 1 }.map do |a, b|
          "partition #{partition}: pid #{b.first.pid} started at #{b.first.offset} " \
            "after pid #{a.last.pid} stopped at #{a.last.offset}"
        end
      end
    end

    def most_runs
      by_partition.keys.map { |partition| runs(partition).size }.max || 0
    end

    # For every repeated (partition, offset): how long before the earlier
    # processor last touched that partition it had processed the message.
    # Offsets are committed every offset_commit_interval, so a message
    # processed long before its processor stopped must have been committed
    # and must not come back; the largest value bounds the duplicates.
    def duplicate_staleness
      first = {}
      worst = 0.0
      @records.each do |record|
        key = [record.partition, record.offset]
        earlier = first[key]
        if earlier.nil?
          first[key] = record
          next
        end
        last_touch = last_before(earlier.pid, record.partition, record.at)
        worst = [worst, last_touch - earlier.at].max
      end
      worst
    end

    # Repeated processings whose first processing happened outside every
    # window (Ranges of clock times): what should have been committed.
    def redone_outside(windows)
      seen = {}
      @records.count do |record|
        key = [record.partition, record.offset]
        earlier = seen[key]
        seen[key] ||= record
        earlier && windows.none? { |window| window.cover?(earlier.at) }
      end
    end

    def summary(name, sent, extra = {})
      details = extra.merge(processes: pids.size, oldest_redo: format("%.2fs", duplicate_staleness))
      "reliability #{name}: sent=#{sent.size} processed=#{processed} duplicates=#{duplicates} " \
        "lost=#{lost(sent).size} (#{details.map { |k, v| "#{k}=#{v}" }.join(' ')})"
    end

    private

    def last_before(pid, partition, time)
      @last_touch ||= {}
      times = (@last_touch[[pid, partition]] ||= by_partition[partition].select { |r| r.pid == pid }.map(&:at))
      times.select { |t| t < time }.max
    end

    def parse(path)
      lines = File.read(path).split("\n", -1)
      # A process killed in the middle of writing can leave at most its last
      # line unfinished (no newline); such a message was not processed.
      lines.pop
      lines.map do |line|
        pid, partition, offset, number, at = line.split(" ")
        Record.new(Integer(pid), Integer(partition), Integer(offset), Integer(number), Float(at))
      end
    end
  end

  def reliability_long?
    LONG
  end

  # short in CI, long with RELIABILITY_SCALE=long
  def scaled(short, long)
    LONG ? long : short
  end

  def reliability_dir
    @reliability_dir ||= Dir.mktmpdir("racecar-reliability").tap do |dir|
      File.write(File.join(dir, "reliability_consumer.rb"), CONSUMER_SOURCE)
      FileUtils.mkdir_p(File.join(dir, "control"))
    end
  end

  def control_file(name)
    File.join(reliability_dir, "control", name)
  end

  # Consumer settings, as RACECAR_* variables for the child processes.
  def reliability_env(topic:, group:, delay: 0, **settings)
    defaults = {
      brokers: settings.fetch(:brokers) { brokers }, max_wait_time: 0.2, session_timeout: 6, heartbeat_interval: 1,
      offset_commit_interval: 1, pause_timeout: 0.5, fetch_messages: 50, log_level: "info"
    }
    env = defaults.merge(settings).to_h { |key, value| ["RACECAR_#{key.upcase}", value.to_s] }
    env.merge("RELIABILITY_TOPIC" => topic, "RELIABILITY_GROUP" => group,
              "RELIABILITY_CONTROL" => File.join(reliability_dir, "control"), "RELIABILITY_DELAY" => delay.to_s)
  end

  def start_consumer_process(env)
    process = ConsumerProcess.new(workdir: reliability_dir, index: consumer_processes.size, env: env)
    consumer_processes << process
    process
  end

  def consumer_processes
    @consumer_processes ||= []
  end

  def ledger
    Ledger.new(reliability_dir)
  end

  # Polls until the block is truthy; fails with the processes' output.
  def wait_for(what, timeout: 60, interval: 0.1)
    deadline = ReliabilityHelpers.now + timeout
    until (result = yield)
      if ReliabilityHelpers.now > deadline
        raise "timed out after #{timeout}s waiting for #{what}\n#{consumer_processes.map(&:describe).join("\n")}"
      end

      sleep(interval)
    end
    result
  end

  def wait_until_processed(numbers, timeout: 120)
    wait_for("#{numbers.size} numbers processed", timeout: timeout, interval: 0.25) do
      ledger.lost(numbers).empty?
    end
  end

  # After an outage: waits until produce_sync works again (50 more numbers
  # acknowledged), stops producing, waits until every acknowledged number was
  # processed, and stops the consumer, which must still be running and exit
  # cleanly. Returns the acknowledged numbers.
  def recover_then_drain(stream, producer, consumer)
    acknowledged = stream.acknowledged.size
    wait_for("produce_sync to succeed again", timeout: 60) { stream.acknowledged.size > acknowledged + 50 }
    stream.stop
    producer.close
    sent = stream.acknowledged
    wait_until_processed(sent, timeout: 90)
    expect(consumer).to be_running, consumer.describe
    expect(consumer.terminate).to be_success, consumer.describe
    sent
  end

  def cleanup_reliability
    consumer_processes.each do |process|
      process.kill if process.running?
    rescue Errno::ESRCH
      nil
    end
    FileUtils.rm_rf(@reliability_dir) if @reliability_dir && !ENV["RELIABILITY_KEEP"]
  end

  # The one line per scenario that CI logs keep.
  def report(line)
    $stdout.puts("\n#{line}")
    $stdout.flush
  end
end

RSpec.configure do |config|
  config.include ReliabilityHelpers, :reliability
  config.after(:example, :reliability) { cleanup_reliability }
end
