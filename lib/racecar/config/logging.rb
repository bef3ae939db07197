# frozen_string_literal: true

require "logger"
require_relative "../errors"

module Racecar
  class Config
    # Config#logger: racecar's own stdlib Logger, to standard output or
    # `logfile`, at `log_level`. Mixed into Config, which calls
    # logging_changed whenever a key is set.
    module Logging
      LEVELS = {
        "debug" => ::Logger::DEBUG, "info" => ::Logger::INFO, "warn" => ::Logger::WARN, "error" => ::Logger::ERROR
      }.freeze

      # Built on first use so that logfile and log_level from every source are
      # in place; later log_level/logfile changes apply to it too.
      def logger
        @logger ||= build_logger
      end

      # A logger given by the application (Rails, say) is used as it is; its
      # level stays the application's business.
      def logger=(logger)
        @logger = logger
        @own_logger = false
      end

      private

      def build_logger
        @own_logger = true
        ::Logger.new(logfile || $stdout, level: LEVELS.fetch(log_level))
      rescue SystemCallError => e
        @own_logger = false
        raise ConfigError, "Cannot open logfile #{logfile.inspect}: #{e.message}"
      end

      def logging_changed(name)
        return unless @own_logger && @logger

        case name
        when :log_level then @logger.level = LEVELS.fetch(log_level)
        when :logfile then @logger = nil
        end
      end
    end
  end
end
