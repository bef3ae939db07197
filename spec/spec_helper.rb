# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "racecar"
require_relative "support/kafka"
require_relative "support/run_banner"
require_relative "support/watchdog"

SPEC_WATCHDOG = SpecWatchdog.from_env

RSpec.configure do |config|
  config.before(:suite) { puts RunBanner.line }
  # After rspec's summary, so the leg is the last line of the log; forked children exit without saying it.
  banner_pid = Process.pid
  at_exit { puts RunBanner.line if Process.pid == banner_pid }
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.mock_with(:rspec) { |c| c.verify_partial_doubles = true }
  config.disable_monkey_patching!
  config.order = :random
  Kernel.srand config.seed
  config.include KafkaHelpers, :kafka
  # A spec that needs the broker fails loudly when it is absent; it never skips.
  config.before(:context, :kafka) { KafkaHelpers.require_broker! }
  config.after(:context, :kafka) { KafkaHelpers.delete_created_topics }
  # Reliability scenarios run for minutes on purpose (tens of minutes at the long scale).
  config.define_derived_metadata(:reliability) do |meta|
    meta[:timeout] ||= ENV["RELIABILITY_SCALE"] == "long" ? 1800 : 600
  end
  # A hung example fails with thread backtraces and child processes instead of stalling the run.
  config.around do |example|
    SPEC_WATCHDOG.guard("#{example.full_description} (#{example.location})", example.metadata[:timeout]) { example.run }
  end
end
