# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::Validator do
  let(:config) { Racecar::Config.new(env: {}) }

  def problems
    described_class.problems(config)
  end

  def warnings
    described_class.warnings(config)
  end

  it "finds nothing wrong with the defaults" do
    expect(problems).to eq([])
  end

  it "requires at least one broker" do
    config.brokers = []
    expect(problems).to eq(["`brokers` must not be empty: name at least one broker (host:port)"])
  end

  it "requires socket_timeout to exceed max_wait_time" do
    config.max_wait_time = 5
    config.socket_timeout = 5
    expect(problems).to eq(
      ["`socket_timeout` must be longer than `max_wait_time` (socket_timeout is 5, max_wait_time is 5)"]
    )
  end

  it "warns, without refusing (upstream accepts it), when heartbeat_interval is not below session_timeout" do
    config.heartbeat_interval = 30
    expect(problems).to eq([])
    expect(warnings).to eq(
      ["heartbeat_interval (30) should be less than session_timeout (30), or the group may drop this consumer"]
    )
  end

  it "requires max_poll_interval not below session_timeout, as librdkafka does" do
    config.max_poll_interval = 20
    expect(problems).to eq(["max_poll_interval (20) must not be below session_timeout (30)"])
  end

  describe "max_pause_timeout" do
    before { config.max_pause_timeout = 5 }

    it "may be below pause_timeout with exponential backoff (the pause is capped), as upstream allows" do
      config.pause_with_exponential_backoff = true
      expect(problems).to eq([])
    end

    it "needs exponential backoff, in upstream's words" do
      expect(problems).to eq(
        ["`max_pause_timeout` only makes sense when `pause_with_exponential_backoff` is enabled " \
         "(max_pause_timeout is 5, pause_with_exponential_backoff is false)"]
      )
    end

    it "does not conflict with pausing forever" do
      config.pause_with_exponential_backoff = true
      config.pause_timeout = -1
      expect(problems).to eq([])
    end
  end

  it "requires a liveness probe file when the probe is enabled" do
    config.liveness_probe_enabled = true
    config.liveness_probe_file_path = nil
    expect(problems).to eq(["liveness_probe_file_path must be set when liveness_probe_enabled is true"])
  end

  describe "SASL" do
    it "warns, without refusing (upstream accepts it), when a mechanism is set without a SASL protocol" do
      config.sasl_mechanism = "GSSAPI"
      config.security_protocol = "ssl"
      expect(problems).to eq([])
      expect(warnings).to eq(
        ["sasl_mechanism is GSSAPI but security_protocol is ssl, so SASL is not used; SASL needs " \
         "security_protocol sasl_plaintext or sasl_ssl"]
      )
    end

    it "says when no security protocol is set at all" do
      config.sasl_mechanism = "GSSAPI"
      expect(warnings.first).to include("security_protocol is not set (plaintext)")
    end

    %w[PLAIN SCRAM-SHA-256 SCRAM-SHA-512].each do |mechanism|
      it "requires a username and a password for #{mechanism}" do
        config.security_protocol = "sasl_ssl"
        config.sasl_mechanism = mechanism
        config.sasl_username = "me"
        expect(problems).to eq(
          ["sasl_username and sasl_password must be set when sasl_mechanism is #{mechanism} " \
           "and security_protocol is sasl_ssl (missing: sasl_password)"]
        )
      end
    end

    it "needs no password for GSSAPI" do
      config.security_protocol = "sasl_plaintext"
      config.sasl_mechanism = "GSSAPI"
      expect(problems).to eq([])
    end

    it "accepts PLAIN with both credentials" do
      config.security_protocol = "sasl_plaintext"
      config.sasl_mechanism = "PLAIN"
      config.sasl_username = "me"
      config.sasl_password = "hunter2"
      expect(problems).to eq([])
    end
  end

  it "rejects cooperative-sticky combined with eager assignors" do
    config.partition_assignment_strategy = "cooperative-sticky,range"
    expect(problems).to eq(
      ['partition_assignment_strategy "cooperative-sticky,range" mixes cooperative-sticky with eager ' \
       "assignors (range); use cooperative-sticky alone"]
    )
  end

  it "accepts cooperative-sticky alone" do
    config.partition_assignment_strategy = "cooperative-sticky"
    expect(problems).to eq([])
  end

  it "requires a loaded consumer class to subscribe to something" do
    config.load_consumer_class(ConfigSpecSupport.consumer_class("IdleConsumer", subscriptions: []))
    expect(problems).to eq(["consumer class IdleConsumer subscribes to no topic; call subscribes_to in it"])
  end

  it "reports every problem at once" do
    config.brokers = []
    config.max_poll_interval = 10
    expect(problems.size).to eq(2)
  end
end
