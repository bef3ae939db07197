# frozen_string_literal: true

require_relative "../config"

module Racecar
  class Ctl
    # The configuration `racecarctl liveness_probe` checks against, loaded as
    # upstream Racecar 2.12 loads it: RACECAR_* variables; unless
    # liveness_probe_skip_config_files, also config/racecar.yml (the
    # RAILS_ENV section, and only when RAILS_ENV is set) and
    # config/racecar.rb. Rails is never booted: the probe runs every few
    # seconds.
    class ProbeConfig
      YAML_PATH = "config/racecar.yml"
      RUBY_PATH = "config/racecar.rb"

      def initialize(root:, env:)
        @root = root
        @env = env
      end

      # Returns the Config to check.
      def load
        config = Config.new(env: @env)
        return config if config.liveness_probe_skip_config_files

        load_yaml(config)
        load_ruby(config)
      end

      private

      def load_yaml(config)
        environment = @env["RAILS_ENV"]
        path = File.join(@root, YAML_PATH)
        config.load_file(path, environment) if environment && !environment.empty? && File.exist?(path)
      end

      # config/racecar.rb configures Racecar.config, so that is the one used
      # from here on.
      def load_ruby(config)
        path = File.join(@root, RUBY_PATH)
        return config unless File.exist?(path)

        require_relative "../../racecar"
        Racecar.config = config
        Kernel.load(path)
        Racecar.config
      end
    end
  end
end
