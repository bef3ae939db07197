# frozen_string_literal: true

require "tmpdir"
require_relative "../../support/config"

RSpec.describe "Racecar::Config::SETTINGS" do
  subject(:settings) { Racecar::Config::SETTINGS }

  it "is a frozen Hash of Settings keyed by name" do
    expect(settings).to be_frozen
    expect(settings).to all(satisfy { |name, setting| setting.is_a?(Racecar::Config::Setting) && setting.name == name })
  end

  it "documents every key with a description" do
    expect(settings.values.map(&:description)).to all(match(/\A[A-Z`].{9,}/))
  end

  it "covers the keys the user manual documents" do
    documented = %i[
      brokers client_id group_id group_id_prefix fetch_messages logfile log_level offset_commit_interval
      session_timeout heartbeat_interval max_poll_interval pause_timeout pause_with_exponential_backoff
      socket_timeout max_wait_time message_timeout statistics_interval max_bytes min_message_queue_size
      security_protocol ssl_ca_location ssl_crl_location ssl_keystore_location ssl_keystore_password
      ssl_certificate_location ssl_key_location ssl_key_password sasl_mechanism sasl_kerberos_principal
      sasl_kerberos_kinit_cmd sasl_kerberos_keytab sasl_kerberos_min_time_before_relogin sasl_username
      sasl_password partitioner producer_compression_codec datadog_enabled datadog_host datadog_port
      datadog_socket_path datadog_namespace datadog_tags liveness_probe_enabled liveness_probe_file_path
      liveness_probe_max_interval liveness_probe_skip_config_files partition_assignment_strategy
      without_rails daemonize pidfile consumer producer require
    ]
    expect(documented - settings.keys).to eq([])
  end

  it "has a default that passes its own coercion for every key" do
    settings.each_value do |setting|
      expect(setting.coerce(setting.default)).to eq(setting.default), "default of #{setting.name}"
    end
  end

  {
    brokers: ["localhost:9092"], client_id: "racecar", group_id: nil, fetch_messages: 1000, log_level: "info",
    offset_commit_interval: 10, session_timeout: 30, heartbeat_interval: 10, max_poll_interval: 300,
    pause_timeout: 10, pause_with_exponential_backoff: false, max_pause_timeout: nil, socket_timeout: 30,
    max_wait_time: 1, message_timeout: 300, statistics_interval: 1, max_bytes: 10_485_760,
    min_message_queue_size: 1_000_000, fetch_min_bytes: 1, partition_assignment_strategy: "range,roundrobin",
    synchronous_commits: false, partitioner: :consistent_random, producer_compression_codec: nil,
    datadog_enabled: false, datadog_host: nil, datadog_port: nil, datadog_namespace: nil,
    datadog_tags: nil, liveness_probe_enabled: false,
    liveness_probe_file_path: File.join(Dir.tmpdir, "racecar-liveness"), sasl_over_ssl: true,
    multi_subscription_strategy: "exhaust-topic",
    liveness_probe_max_interval: 5, ssl_verify_hostname: true, consumer: [], producer: []
  }.each do |name, default|
    it "defaults #{name} to #{default.inspect}" do
      expect(settings.fetch(name).default).to eq(default)
    end
  end

  it "keeps librdkafka's own queued.min.messages default, which does not throttle fetching" do
    expect(settings.fetch(:min_message_queue_size)).to have_attributes(default: 1_000_000, rdkafka: "queued.min.messages")
  end

  it "marks exactly the password keys as secret" do
    expect(settings.values.select(&:secret?).map(&:name))
      .to contain_exactly(:ssl_keystore_password, :ssl_key_password, :sasl_password)
  end

  {
    log_level: %w[debug info warn error fatal unknown],
    security_protocol: %w[plaintext ssl sasl_plaintext sasl_ssl],
    sasl_mechanism: %w[GSSAPI PLAIN SCRAM-SHA-256 SCRAM-SHA-512],
    producer_compression_codec: %w[none gzip lz4 snappy zstd],
    multi_subscription_strategy: %w[round-robin exhaust-topic],
    partitioner: %w[consistent consistent_random murmur2 murmur2_random fnv1a fnv1a_random],
    partition_assignment_strategy: %w[range roundrobin cooperative-sticky]
  }.each do |name, allowed|
    it "allows #{name} to be one of #{allowed.join(', ')}" do
      expect(settings.fetch(name).allowed).to eq(allowed)
    end
  end
end
