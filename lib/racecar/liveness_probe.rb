# frozen_string_literal: true

require_relative "errors"

module Racecar
  # A file whose modification time says when the consumer last completed a
  # loop: the running consumer touches it on every `main_loop` event (at most
  # a few times per second), deletes it when shutting down gracefully, and
  # `racecarctl liveness_probe` checks its age. The check's messages are
  # upstream Racecar's, as health check logs are searched for them.
  #
  # Requires nothing but the errors file, so the probe command stays fast.
  class LivenessProbe
    FAILED = "Racecar healthcheck failed"

    # Touching costs a syscall; loops can run thousands of times per second.
    MAX_TOUCHES_PER_SECOND = 4

    attr_reader :file_path, :max_interval

    # instrumenter: defaults to Racecar.instrumenter when installed.
    def initialize(file_path:, max_interval:, instrumenter: nil, clock: nil)
      @configured_path = file_path
      @file_path = File.expand_path(file_path.to_s)
      @max_interval = max_interval
      @instrumenter = instrumenter
      @clock = clock || -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
      @min_touch_interval = [1.0 / MAX_TOUCHES_PER_SECOND, max_interval.to_f / 4].min
      @last_touch = nil
      @subscriptions = []
    end

    # Checks the file can be written, then starts touching it on each loop and
    # deleting it on shutdown. Does not create the file: until the first loop
    # the probe reports the consumer as not (yet) alive.
    def install
      ensure_writable!
      @instrumenter ||= Racecar.instrumenter
      @subscriptions << @instrumenter.subscribe("main_loop") { touch_quietly }
      @subscriptions << @instrumenter.subscribe("shut_down") { delete }
      self
    end

    # Stops listening and deletes the file: a stopped consumer is not alive.
    def uninstall
      @subscriptions.each { |subscription| @instrumenter.unsubscribe(subscription) }
      @subscriptions = []
      delete
      self
    end

    # Touches the file unless it was touched very recently.
    def touch
      now = @clock.call
      return false if @last_touch && now - @last_touch < @min_touch_interval

      @last_touch = now
      touch!
      true
    end

    def touch!
      time = Time.now
      File.utime(time, time, @file_path)
    rescue Errno::ENOENT
      File.open(@file_path, "a") {} # rubocop:disable Lint/EmptyBlock -- creating is the point
    end

    def delete
      File.delete(@file_path)
      @last_touch = nil
    rescue Errno::ENOENT
      nil
    end

    # [true, nil] when the file was modified less than max_interval seconds
    # before `now`, otherwise [false, message].
    def check(now: Time.now)
      modified = File.mtime(@file_path)
      age = now - modified
      return [true, nil] if age < @max_interval

      [false, "#{FAILED}: No liveness within interval #{format_interval}s. " \
              "Last liveness at #{modified}, #{age.round(3)} seconds ago."]
    rescue Errno::ENOENT
      [false, "#{FAILED}: Liveness file not found `#{@configured_path}`"]
    end

    # Upstream's names for the check: true/false, or the process exits 1
    # after printing why to stderr.
    def liveness_event_within_interval?
      check.first
    end

    def check_liveness_within_interval!
      alive, message = check
      return true if alive

      $stderr.puts(message)
      Process.exit(1)
    end

    private

    # Runs inside the consumer's loop: a vanished directory must not crash the
    # consumer. The file just goes stale and the probe reports that.
    def touch_quietly
      touch
    rescue SystemCallError
      nil
    end

    def format_interval
      @max_interval.to_f == @max_interval.to_i ? @max_interval.to_i : @max_interval
    end

    def ensure_writable!
      directory = File.dirname(@file_path)
      problem =
        if File.directory?(@file_path)
          "it is a directory"
        elsif !File.directory?(directory)
          "directory #{directory} does not exist"
        elsif File.exist?(@file_path) ? !File.writable?(@file_path) : !File.writable?(directory)
          "permission denied"
        end
      return unless problem

      raise ConfigError, "Liveness probe configuration error: `liveness_probe_file_path` must be set to a " \
                         "writable file path.\n  liveness_probe_file_path #{@file_path} is not writable: #{problem}. " \
                         "Set `RACECAR_LIVENESS_PROBE_FILE_PATH` to a writable path."
    end
  end
end
