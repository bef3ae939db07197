# frozen_string_literal: true

# Manual, "Deploying to Heroku". The manual's `# ...` is filled in with a
# subscription and a `process` that records what it consumed.

# This takes care of setting up your consumer based on the ENV
# variables provided by Heroku.
require "racecar/heroku"

class SomeConsumer < Racecar::Consumer
  subscribes_to "heroku-topic"

  def process(message)
    File.open(ENV.fetch("MANUAL_OUTPUT"), "a") { |file| file.puts(message.value) }
  end
end
