# frozen_string_literal: true

module Racecar
  class Cli
    # The text printed when racecar dies of an exception: the exception, its
    # backtrace, then each `cause` in turn, because the interesting part of a
    # wrapped error (a librdkafka failure inside a ConfigError, a database
    # error inside a consumer's own exception) is usually the cause.
    class CrashReport
      MAX_CAUSES = 10

      def initialize(exception, backtrace: true)
        @exception = exception
        @backtrace = backtrace
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

      private

      def describe(exception)
        lines = ["#{exception.class}: #{exception.message}"]
        lines.concat(Array(exception.backtrace).map { |line| "    #{line}" }) if @backtrace
        lines
      end
    end
  end
end
