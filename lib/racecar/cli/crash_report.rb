# frozen_string_literal: true

module Racecar
  class Cli
    # The text printed when racecar dies of an exception: the exception, its
    # backtrace, then each `cause` in turn, because the interesting part of a
    # wrapped error (a librdkafka failure inside a ConfigError, a database
    # error inside a consumer's own exception) is usually the cause.
    class CrashReport
      MAX_CAUSES = 10

      # causes: false leaves them out of #upstream_text (a consumer name that
      # is not defined is caused by a NameError nobody needs to read).
      def initialize(exception, backtrace: true, causes: true)
        @exception = exception
        @backtrace = backtrace
        @causes = causes
      end

      def to_s
        lines = describe(@exception)
        cause = @exception.cause
        seen = [@exception]
        while cause && !seen.include?(cause) && seen.size <= MAX_CAUSES
          lines << "Caused by:"
          lines.concat(describe(cause))
          seen << cause
          cause = cause.cause
        end
        lines.join("\n")
      end

      # Upstream Racecar's text, which supervisors and runbooks grep for:
      #
      #   => Crashed: ArgumentError: cannot start the consumer
      #   --- Caused by: ---
      #   IOError: disk on fire
      #   /app/consumers.rb:7:in `initialize'
      #   ...
      #
      # The causes (headlines only) come first, then the crash's backtrace.
      def upstream_text
        lines = ["=> Crashed: #{headline(@exception)}"]
        causes.each { |cause| lines << "--- Caused by: ---" << headline(cause) } if @causes
        lines.concat(Array(@exception.backtrace)) if @backtrace
        lines.join("\n")
      end

      private

      def causes
        found = []
        cause = @exception.cause
        while cause && cause != @exception && !found.include?(cause) && found.size < MAX_CAUSES
          found << cause
          cause = cause.cause
        end
        found
      end

      def headline(exception)
        "#{exception.class}: #{exception.message}"
      end

      def describe(exception)
        lines = ["#{exception.class}: #{exception.message}"]
        lines.concat(Array(exception.backtrace).map { |line| "    #{line}" }) if @backtrace
        lines
      end
    end
  end
end
