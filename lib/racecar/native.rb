# frozen_string_literal: true

require_relative "errors"

# The compiled core (ext/racecar_native). Loaded after errors.rb because the
# extension looks up racecar's error classes instead of defining its own.
begin
  require "racecar/racecar_native"
rescue LoadError => e
  raise LoadError, "racecar's native extension is not built (#{e.message}). " \
                   "Run `rake compile` in a checkout, or reinstall the gem with librdkafka-dev installed."
end
