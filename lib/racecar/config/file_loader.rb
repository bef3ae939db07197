# frozen_string_literal: true

require_relative "../errors"
require "erb"
require "yaml"

module Racecar
  class Config
    # Reads one environment's section of a YAML config file (ERB first, so
    # values can come from ENV; aliases on, so sections can share `common`).
    module FileLoader
      module_function

      # Returns { setting_name => raw value } for the section, or nil when the
      # file has no section for the environment. Unknown keys raise.
      def read(path, environment)
        data = parse(path)
        return nil if data.nil?
        raise ConfigError, "#{path} must be a mapping of environment names to sections" unless data.is_a?(Hash)
        return nil unless data.key?(environment.to_s)

        section = data[environment.to_s]
        return {} if section.nil?
        raise ConfigError, "Section #{environment} of #{path} must be a mapping of keys to values" unless section.is_a?(Hash)

        section.to_h { |key, value| [known_key(key, path, environment), value] }
      end

      def parse(path)
        text = File.read(path)
        YAML.safe_load(ERB.new(text).result, aliases: true, permitted_classes: [Symbol], filename: path.to_s)
      rescue Errno::ENOENT, Errno::EACCES, Errno::EISDIR => e
        raise ConfigError, "Cannot read config file #{path}: #{e.message}"
      rescue Psych::Exception => e
        raise ConfigError, "Invalid YAML in #{path}: #{e.message}"
      rescue ScriptError, StandardError => e
        raise e if e.is_a?(ConfigError)

        raise ConfigError, "Error evaluating ERB in #{path}: #{e.class}: #{e.message}"
      end

      def known_key(key, path, environment)
        name = key.to_s.to_sym
        return name if Config.setting(name)

        suggestion = Config.suggestion(key)
        hint = suggestion ? " Did you mean #{suggestion}?" : ""
        raise ConfigError, "unknown configuration variable #{key} in section #{environment} of #{path}.#{hint}"
      end
    end
  end
end
