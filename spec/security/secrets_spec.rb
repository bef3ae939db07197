# frozen_string_literal: true

require "securerandom"
require_relative "../support/security"

# Passwords never leave racecar except towards librdkafka: not in any log
# line (racecar's and librdkafka's own, at the most verbose debug level), not
# in the configuration dump SIGUSR1 prints (Racecar::Config#dump; the CLI's
# signal path is spec/integration/cli_run_spec.rb), not in inspect / to_h, and
# not in the message of any exception a mistake produces (a rejected value
# for a password key itself: spec/racecar/config_spec.rb).
RSpec.describe "Secrets", :kafka do
  include SecurityHelpers

  let(:wrong_password) { "wrong-#{SecureRandom.hex(8)}" }
  let(:secrets) { [SecurityHelpers::PLAIN_USER.last, SecurityHelpers::SCRAM_USER.last, wrong_password] }

  def expect_no_secret_in(text)
    secrets.each { |secret| expect(text).not_to include(secret) }
  end

  def messages_of(error)
    [error.message, error.full_message(highlight: false), error.inspect]
  end

  it "stay out of every log line, librdkafka's debug output included, with right and wrong credentials" do
    topic = create_topic
    user, password = SecurityHelpers::SCRAM_USER
    right = -> { sasl_config(mechanism: "SCRAM-SHA-256", username: user, password: password, librdkafka_debug: "all") }
    isolated_producer(right.call).produce_sync(value: "secret-free", topic: topic)
    seen = []
    running = start_consumer(recording_consumer(topic, seen).new, config: right.call)
    eventually(message: "the message") { seen == ["secret-free"] }
    running.stop

    wrong = sasl_config(mechanism: "PLAIN", username: SecurityHelpers::PLAIN_USER.first, password: wrong_password,
                        librdkafka_debug: "all", message_timeout: 2)
    expect { isolated_producer(wrong).produce_sync(value: "x", topic: topic) }
      .to raise_error(Racecar::MessageDeliveryError) { |error| messages_of(error).each { |text| expect_no_secret_in(text) } }

    expect(log_lines.size).to be > 1000 # librdkafka's debug output really was on
    expect(log.string).to include("sasl.password = [redacted]")
    expect_no_secret_in(log.string)
  end

  it "stay out of the SIGUSR1 dump, inspect and to_h, including librdkafka properties given as lists" do
    config = sasl_config(mechanism: "PLAIN", username: "racecar", password: wrong_password,
                         ssl_key_password: wrong_password)
    config.consumer = ["sasl.password=#{wrong_password}", "fetch.wait.max.ms=10"]
    config.producer = ["sasl.password=#{wrong_password}"]
    klass = define_consumer do
      subscribes_to "secret-topic", additional_config: { "sasl.password" => "also-#{SecureRandom.hex(4)}" }
    end
    config.load_consumer_class(klass)
    also = klass.subscriptions.first.additional_config["sasl.password"]

    [config.dump, config.to_s, config.inspect, config.to_h.inspect].each do |text|
      expect_no_secret_in(text)
      expect(text).not_to include(also)
      expect(text).to include("[FILTERED]")
    end
    expect(config.dump).to include("fetch.wait.max.ms=10") # the rest is still shown
  end

  it "stay out of the messages of errors that a configuration mistake raises" do
    config = sasl_config(mechanism: "PLAIN", username: "racecar", password: wrong_password)
    errors = []
    begin
      config.sasl_pasword = wrong_password # mistyped writer: NoMethodError shows the config
    rescue NoMethodError => e
      errors << e
    end
    begin
      Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "sasl.pasword" => wrong_password)
    rescue Racecar::ConfigError => e
      errors << e
    end

    expect(errors.map(&:class)).to eq([NoMethodError, Racecar::ConfigError])
    errors.each { |error| messages_of(error).each { |text| expect_no_secret_in(text) } }
  end
end
