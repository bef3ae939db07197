# frozen_string_literal: true

require_relative "../errors"
module Racecar
  class Config
    # Reads RACECAR_* environment variables. Any such variable must name a
    # setting: a misspelt RACECAR_MAX_WAIT would otherwise be ignored in
    # silence, and the consumer would run with a value nobody chose.
    module EnvLoader
      PREFIX = "RACECAR_"

      module_function

      # Yields (setting name, raw String, variable name) for each RACECAR_*
      # variable, in a stable order.
      def each_assignment(env)
        env.to_h.select { |name, _| name.start_with?(PREFIX) }.sort.each do |variable, raw|
          name = variable.delete_prefix(PREFIX).downcase.to_sym
          raise ConfigError, unknown_message(variable) unless Config.setting(name)

          yield name, raw, variable
        end
      end

      # Spell-checks the setting name rather than the whole variable name:
      # the shared RACECAR_ prefix would make every variable look alike.
      # Starts with upstream Racecar's words, which people match on.
      def unknown_message(variable)
        name = variable.delete_prefix(PREFIX).downcase
        suggestion = Config.suggestion(name)
        hint = suggestion ? " Did you mean #{Config.setting(suggestion).env_name}?" : ""
        "unknown environment variable #{variable}: racecar has no setting #{name}.#{hint}"
      end
    end
  end
end
