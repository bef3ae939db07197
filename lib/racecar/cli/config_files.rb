# frozen_string_literal: true

module Racecar
  class Cli
    # Loads the application's config/racecar.yml (the section for the current
    # environment) and config/racecar.rb, when they exist. Shared by `racecar`
    # and `racecarctl`.
    class ConfigFiles
      YAML_PATH = "config/racecar.yml"
      RUBY_PATH = "config/racecar.rb"

      def initialize(config:, root: Dir.pwd, env: ENV)
        @config = config
        @root = root
        @env = env
      end

      # Rails.env once Rails is loaded, else RAILS_ENV, RACK_ENV, "development".
      def environment
        return ::Rails.env.to_s if defined?(::Rails) && ::Rails.respond_to?(:env) && ::Rails.env

        @env["RAILS_ENV"] || @env["RACK_ENV"] || "development"
      end

      # Returns the paths that were loaded.
      def load
        loaded = []
        yaml = File.join(@root, YAML_PATH)
        if File.exist?(yaml)
          @config.load_file(yaml, environment)
          loaded << yaml
        end
        ruby = File.join(@root, RUBY_PATH)
        if File.exist?(ruby)
          # `load`, not require: it runs Racecar.configure against the config in use now.
          Kernel.load(ruby)
          loaded << ruby
        end
        loaded
      end
    end
  end
end
