# frozen_string_literal: true

require "logger"

module Racecar
  class Cli
    # Boots the Rails application in the working directory, if there is one,
    # by requiring its config/environment.rb, exactly as `rails runner` would.
    #
    # Racecar's own log keeps going to standard output (or `logfile`). In
    # development, where Rails.logger writes only to log/development.log,
    # racecar's logger also forwards to Rails.logger, so a developer sees
    # racecar's lines both in the terminal and next to the app's own.
    class RailsBoot
      ENVIRONMENT_FILE = "config/environment.rb"

      def initialize(config:, root: Dir.pwd, stdout: $stdout, stderr: $stderr)
        @config = config
        @root = root
        @stdout = stdout
        @stderr = stderr
      end

      def available?
        File.exist?(environment_file)
      end

      def environment_file
        File.join(@root, ENVIRONMENT_FILE)
      end

      # Returns true when Rails was booted.
      def boot
        return false unless available?

        @stderr.puts("=> Detected Rails, booting application...")
        require environment_file
        true
      end

      # Called once every config source is loaded, since a logfile set in
      # config/racecar.yml means racecar's log belongs in that file alone.
      def connect_logger
        return unless defined?(::Rails) && ::Rails.respond_to?(:env) && ::Rails.env.to_s == "development"
        return if @config.logfile

        rails_logger = ::Rails.respond_to?(:logger) ? ::Rails.logger : nil
        @config.logger = development_logger(rails_logger)
      end

      private

      def development_logger(rails_logger)
        console = ::Logger.new(@stdout, level: @config.log_level.to_s)
        return console if rails_logger.nil? || writes_to_stdout?(rails_logger)

        if defined?(::ActiveSupport::BroadcastLogger) # Rails 7.1 and later
          ::ActiveSupport::BroadcastLogger.new(console, rails_logger)
        elsif defined?(::ActiveSupport::Logger) && ::ActiveSupport::Logger.respond_to?(:broadcast)
          console.extend(::ActiveSupport::Logger.broadcast(rails_logger))
        else
          console
        end
      end

      def writes_to_stdout?(logger)
        return false unless defined?(::ActiveSupport::Logger) && ::ActiveSupport::Logger.respond_to?(:logger_outputs_to?)

        ::ActiveSupport::Logger.logger_outputs_to?(logger, @stdout, $stdout, STDOUT) # rubocop:disable Style/GlobalStdStream
      end
    end
  end
end
