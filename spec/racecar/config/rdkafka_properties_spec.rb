# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::RdkafkaProperties do
  let(:config) { Racecar::Config.new(env: {}) }

  def subscription(*args, **options)
    ConfigSpecSupport.subscription(*args, **options)
  end

  def consumer_class(**options)
    ConfigSpecSupport.consumer_class("BaconConsumer", **options)
  end

  describe "#consumer" do
    subject(:properties) { described_class.new(config).consumer }

    it "maps the defaults to librdkafka properties, as Strings, durations in milliseconds" do
      expect(properties).to eq(
        "bootstrap.servers" => "localhost:9092",
        "client.id" => "racecar",
        "socket.timeout.ms" => "30000",
        "reconnect.backoff.max.ms" => "1000",
        "enable.auto.commit" => "true",
        "enable.auto.offset.store" => "false",
        "auto.commit.interval.ms" => "10000",
        "session.timeout.ms" => "30000",
        "heartbeat.interval.ms" => "10000",
        "max.poll.interval.ms" => "300000",
        "fetch.wait.max.ms" => "1000",
        "fetch.max.bytes" => "10485760",
        "queued.min.messages" => "1000000",
        "fetch.min.bytes" => "1",
        "partition.assignment.strategy" => "range,roundrobin",
        "auto.offset.reset" => "earliest"
      )
    end

    it "never sets statistics.interval.ms, which the runner adds only for a statistics_callback" do
      config.statistics_interval = 5
      expect(properties).not_to have_key("statistics.interval.ms")
    end

    it "joins brokers with commas" do
      config.brokers = %w[kafka1:9092 kafka2:9092]
      expect(properties["bootstrap.servers"]).to eq("kafka1:9092,kafka2:9092")
    end

    it "rounds fractional seconds to whole milliseconds" do
      config.max_wait_time = 0.0125
      expect(properties["fetch.wait.max.ms"]).to eq("13")
    end

    it "maps the remaining consumer keys" do
      config.session_timeout = 45
      config.heartbeat_interval = 3
      config.max_poll_interval = 600
      config.offset_commit_interval = 2.5
      config.max_bytes = 1_000_000
      config.min_message_queue_size = 500
      config.fetch_min_bytes = 1024
      config.partition_assignment_strategy = "cooperative-sticky"
      expect(properties).to include(
        "session.timeout.ms" => "45000", "heartbeat.interval.ms" => "3000", "max.poll.interval.ms" => "600000",
        "auto.commit.interval.ms" => "2500", "fetch.max.bytes" => "1000000", "queued.min.messages" => "500",
        "fetch.min.bytes" => "1024", "partition.assignment.strategy" => "cooperative-sticky"
      )
    end

    it "takes group.id from the group id" do
      config.load_consumer_class(consumer_class)
      expect(properties["group.id"]).to eq("bacon-consumer")
    end

    it "starts from the latest offset when the first subscription does not start from the beginning" do
      config.load_consumer_class(consumer_class(subscriptions: [subscription("a", start_from_beginning: false),
                                                                subscription("b")]))
      expect(properties["auto.offset.reset"]).to eq("latest")
    end

    it "starts from the earliest offset when the first subscription starts from the beginning" do
      config.load_consumer_class(consumer_class(subscriptions: [subscription("a"),
                                                                subscription("b", start_from_beginning: false)]))
      expect(properties["auto.offset.reset"]).to eq("earliest")
    end

    it "uses the largest max_bytes_per_partition of the subscriptions" do
      config.load_consumer_class(consumer_class(subscriptions: [subscription("a", max_bytes_per_partition: 10),
                                                                subscription("b", max_bytes_per_partition: 30),
                                                                subscription("c", max_bytes_per_partition: nil)]))
      expect(properties["max.partition.fetch.bytes"]).to eq("30")
    end

    it "maps the SSL and SASL keys" do
      config.security_protocol = :sasl_ssl
      config.ssl_ca_location = "/ca.pem"
      config.ssl_crl_location = "/crl.pem"
      config.ssl_keystore_location = "/client.p12"
      config.ssl_keystore_password = "ks-secret"
      config.ssl_certificate_location = "/client.pem"
      config.ssl_key_location = "/client.key"
      config.ssl_key_password = "key-secret"
      config.ssl_verify_hostname = false
      config.sasl_mechanism = "SCRAM-SHA-512"
      config.sasl_username = "me"
      config.sasl_password = "hunter2"
      config.sasl_kerberos_service_name = "kafka"
      config.sasl_kerberos_principal = "me@EXAMPLE"
      config.sasl_kerberos_kinit_cmd = "kinit -k"
      config.sasl_kerberos_keytab = "/me.keytab"
      config.sasl_kerberos_min_time_before_relogin = 60_000
      expect(properties).to include(
        "security.protocol" => "sasl_ssl", "ssl.ca.location" => "/ca.pem", "ssl.crl.location" => "/crl.pem",
        "ssl.keystore.location" => "/client.p12", "ssl.keystore.password" => "ks-secret",
        "ssl.certificate.location" => "/client.pem", "ssl.key.location" => "/client.key",
        "ssl.key.password" => "key-secret", "ssl.endpoint.identification.algorithm" => "none",
        "sasl.mechanisms" => "SCRAM-SHA-512", "sasl.username" => "me", "sasl.password" => "hunter2",
        "sasl.kerberos.service.name" => "kafka", "sasl.kerberos.principal" => "me@EXAMPLE",
        "sasl.kerberos.kinit.cmd" => "kinit -k", "sasl.kerberos.keytab" => "/me.keytab",
        "sasl.kerberos.min.time.before.relogin" => "60000"
      )
    end

    it "lets the consumer list override racecar's own properties" do
      config.consumer = ["fetch.wait.max.ms=5", "queued.max.messages.kbytes=1024"]
      expect(properties).to include("fetch.wait.max.ms" => "5", "queued.max.messages.kbytes" => "1024")
    end

    it "lets each subscription's additional_config override everything, later subscriptions last" do
      config.consumer = ["fetch.wait.max.ms=5"]
      config.load_consumer_class(consumer_class(subscriptions: [
        subscription("a", additional_config: { "fetch.wait.max.ms" => 7, "client.rack": "r1" }),
        subscription("b", additional_config: { "client.rack" => "r2" })
      ]))
      expect(properties).to include("fetch.wait.max.ms" => "7", "client.rack" => "r2")
    end

    it "has only String keys and values" do
      config.load_consumer_class(consumer_class(subscriptions: [subscription("a", additional_config: { x: 1 })]))
      expect(properties.to_a.flatten).to all(be_a(String))
    end
  end

  describe "#producer" do
    subject(:properties) { described_class.new(config).producer }

    it "maps the defaults" do
      expect(properties).to eq(
        "bootstrap.servers" => "localhost:9092", "client.id" => "racecar", "socket.timeout.ms" => "30000",
        "reconnect.backoff.max.ms" => "1000", "message.timeout.ms" => "300000", "partitioner" => "consistent_random"
      )
    end

    it "maps compression, the partitioner and security" do
      config.producer_compression_codec = :zstd
      config.partitioner = :murmur2
      config.security_protocol = "ssl"
      config.ssl_ca_location = "/ca.pem"
      expect(properties).to include(
        "compression.codec" => "zstd", "partitioner" => "murmur2", "security.protocol" => "ssl",
        "ssl.ca.location" => "/ca.pem"
      )
    end

    it "lets the producer list override racecar's own properties" do
      config.producer = ["message.timeout.ms=100", "linger.ms=5"]
      expect(properties).to include("message.timeout.ms" => "100", "linger.ms" => "5")
    end

    it "does not take consumer-only properties" do
      config.consumer = ["linger.ms=5"]
      expect(properties.keys).not_to include("linger.ms", "group.id", "fetch.wait.max.ms")
    end
  end
end
