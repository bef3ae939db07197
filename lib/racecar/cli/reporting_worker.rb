# frozen_string_literal: true

module Racecar
  class Cli
    # One parallel worker's runner, built inside the forked child, with what
    # kills it handed to on_error first: upstream's parent calls the handler
    # for a child's crash, here the child itself does (it has the exception).
    # The ParallelRunner then reports the crash and sets the exit status.
    class ReportingWorker
      def initialize(build:, on_crash:)
        @build = build
        @on_crash = on_crash
        @runner = nil
        @stop_requested = false
      end

      def run
        @runner = @build.call
        @runner.stop if @stop_requested
        @runner.run
      rescue SystemExit, SignalException
        raise
      rescue Exception => e # rubocop:disable Lint/RescueException -- reported, then re-raised
        @on_crash.call(e)
        raise
      end

      # Trap-safe: a flag, or the runner's own trap-safe stop.
      def stop
        @stop_requested = true
        @runner&.stop
      end
    end
  end
end
