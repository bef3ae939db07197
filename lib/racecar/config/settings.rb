# frozen_string_literal: true

require "tmpdir"
require_relative "setting"

module Racecar
  class Config
    # Every configuration key, in the order the manual presents them. Names,
    # types, defaults and allowed values follow upstream Racecar 2.12, so a
    # 2.12 config starts unchanged; a default differs only where a
    # measurement said so (min_message_queue_size), and some keys accept more
    # (zstd, more log levels). `symbol: true` keys read back as Symbols
    # (:ssl), as upstream apps compare them that way.
    SETTINGS = [
      # Basic
      Setting.new(name: :brokers, type: :list, default: ["localhost:9092"], nullable: false,
                  rdkafka: "bootstrap.servers",
                  description: "Kafka brokers to bootstrap from, as host:port"),
      Setting.new(name: :client_id, type: :string, default: "racecar", rdkafka: "client.id",
                  description: "Identifies this client in broker logs and metrics"),
      Setting.new(name: :group_id, type: :string, default: nil, rdkafka: "group.id",
                  description: "Consumer group id; derived from the consumer class name when not set"),
      Setting.new(name: :group_id_prefix, type: :string, default: nil,
                  description: "Prefix for group ids derived from consumer class names"),
      Setting.new(name: :fetch_messages, type: :integer, default: 1000, bound: 1,
                  description: "Most messages handed to the consumer in one batch"),
      Setting.new(name: :parallel_workers, type: :integer, default: nil, bound: 1,
                  description: "Processes to fork, each a member of the group; not set means no forking"),

      # Logging
      Setting.new(name: :logfile, type: :string, default: nil,
                  description: "File to append racecar's log to; standard output when not set"),
      Setting.new(name: :log_level, type: :enum, default: "info", allowed: %w[debug info warn error fatal unknown],
                  description: "Level of racecar's own log"),

      # Checkpointing
      Setting.new(name: :offset_commit_interval, type: :seconds, default: 10, bound: :positive,
                  rdkafka: "auto.commit.interval.ms",
                  description: "Seconds between commits of processed offsets"),
      Setting.new(name: :synchronous_commits, type: :boolean, default: false,
                  description: "Wait for the broker to confirm commits made on revoke and shutdown"),

      # Timeouts & intervals
      Setting.new(name: :session_timeout, type: :seconds, default: 30, bound: :positive,
                  rdkafka: "session.timeout.ms",
                  description: "Seconds without heartbeats after which the group drops a consumer"),
      Setting.new(name: :heartbeat_interval, type: :seconds, default: 10, bound: :positive,
                  rdkafka: "heartbeat.interval.ms",
                  description: "Seconds between heartbeats to the group coordinator"),
      Setting.new(name: :max_poll_interval, type: :seconds, default: 300, bound: :positive,
                  rdkafka: "max.poll.interval.ms",
                  description: "Longest a batch may take to process before the consumer leaves the group"),
      Setting.new(name: :pause_timeout, type: :seconds, default: 10, bound: :pause,
                  description: "Seconds to pause a partition after an error; 0 disables pausing, -1 pauses forever"),
      Setting.new(name: :pause_with_exponential_backoff, type: :boolean, default: false,
                  description: "Double the pause after each consecutive error on the same partition"),
      Setting.new(name: :max_pause_timeout, type: :seconds, default: nil, bound: :positive,
                  description: "Longest pause with exponential backoff; not set means no cap"),
      Setting.new(name: :socket_timeout, type: :seconds, default: 30, bound: :positive,
                  rdkafka: "socket.timeout.ms",
                  description: "Seconds to wait on a broker request; must exceed max_wait_time"),
      Setting.new(name: :max_wait_time, type: :seconds, default: 1, bound: :non_negative,
                  rdkafka: "fetch.wait.max.ms",
                  description: "Longest the broker holds a fetch to fill it, and longest one poll waits"),
      Setting.new(name: :message_timeout, type: :seconds, default: 300, bound: :non_negative,
                  rdkafka: "message.timeout.ms",
                  description: "Seconds to keep retrying a produced message before failing it; 0 means forever"),
      Setting.new(name: :statistics_interval, type: :seconds, default: 1, bound: :non_negative,
                  rdkafka: "statistics.interval.ms",
                  description: "Seconds between librdkafka statistics, used only when the consumer " \
                               "defines statistics_callback; 0 disables"),

      # Memory & network
      Setting.new(name: :max_bytes, type: :integer, default: 10_485_760, bound: 1, rdkafka: "fetch.max.bytes",
                  description: "Most bytes one fetch response may carry"),
      # librdkafka 2.0.2 stops fetching a partition once this many messages are
      # queued and only looks again on its one-second timer, so the default is
      # set high enough not to throttle; memory stays bounded by the consumer
      # queue's queued.max.messages.kbytes (64 MiB by default) and max_bytes.
      Setting.new(name: :min_message_queue_size, type: :integer, default: 1_000_000, bound: 1,
                  rdkafka: "queued.min.messages",
                  description: "Messages librdkafka tries to keep queued locally per partition"),
      Setting.new(name: :fetch_min_bytes, type: :integer, default: 1, bound: 1, rdkafka: "fetch.min.bytes",
                  description: "Fewest bytes the broker waits for before answering a fetch"),
      Setting.new(name: :partition_assignment_strategy, type: :enum_list, default: "range,roundrobin",
                  allowed: %w[range roundrobin cooperative-sticky], rdkafka: "partition.assignment.strategy",
                  description: "Assignors, in order of preference; cooperative-sticky cannot be combined"),

      # SSL
      Setting.new(name: :security_protocol, type: :enum, default: nil, symbol: true,
                  allowed: %w[plaintext ssl sasl_plaintext sasl_ssl], rdkafka: "security.protocol",
                  description: "Protocol used to talk to brokers"),
      Setting.new(name: :ssl_ca_location, type: :string, default: nil, rdkafka: "ssl.ca.location",
                  description: "CA certificate file or directory used to verify the brokers"),
      Setting.new(name: :ssl_crl_location, type: :string, default: nil, rdkafka: "ssl.crl.location",
                  description: "Certificate revocation list used to verify the brokers"),
      Setting.new(name: :ssl_keystore_location, type: :string, default: nil, rdkafka: "ssl.keystore.location",
                  description: "Client keystore (PKCS#12) used to authenticate"),
      Setting.new(name: :ssl_keystore_password, type: :string, default: nil, secret: true,
                  rdkafka: "ssl.keystore.password", description: "Password of the client keystore"),
      Setting.new(name: :ssl_certificate_location, type: :string, default: nil,
                  rdkafka: "ssl.certificate.location", description: "Client certificate (PEM)"),
      Setting.new(name: :ssl_key_location, type: :string, default: nil, rdkafka: "ssl.key.location",
                  description: "Client private key (PEM) used to authenticate"),
      Setting.new(name: :ssl_key_password, type: :string, default: nil, secret: true,
                  rdkafka: "ssl.key.password", description: "Password of the client private key"),
      # false turns certificate verification off altogether, as it does in
      # upstream Racecar (which maps it to enable.ssl.certificate.verification):
      # a config that connects there must connect here.
      Setting.new(name: :ssl_verify_hostname, type: :boolean, default: true,
                  rdkafka: "enable.ssl.certificate.verification",
                  description: "Verify the broker certificate (chain and host name); false turns verification off"),

      # SASL
      Setting.new(name: :sasl_mechanism, type: :enum, default: nil,
                  allowed: %w[GSSAPI PLAIN SCRAM-SHA-256 SCRAM-SHA-512], rdkafka: "sasl.mechanisms",
                  description: "SASL mechanism used to authenticate"),
      Setting.new(name: :sasl_kerberos_service_name, type: :string, default: nil,
                  rdkafka: "sasl.kerberos.service.name",
                  description: "Kerberos principal name Kafka runs as (librdkafka's default: kafka)"),
      Setting.new(name: :sasl_kerberos_principal, type: :string, default: nil,
                  rdkafka: "sasl.kerberos.principal", description: "This client's Kerberos principal"),
      Setting.new(name: :sasl_kerberos_kinit_cmd, type: :string, default: nil,
                  rdkafka: "sasl.kerberos.kinit.cmd", description: "Command librdkafka runs to refresh the ticket"),
      Setting.new(name: :sasl_kerberos_keytab, type: :string, default: nil, rdkafka: "sasl.kerberos.keytab",
                  description: "Kerberos keytab file; the system default when not set"),
      Setting.new(name: :sasl_kerberos_min_time_before_relogin, type: :integer, default: nil, bound: 0,
                  rdkafka: "sasl.kerberos.min.time.before.relogin",
                  description: "Milliseconds between key refresh attempts"),
      Setting.new(name: :sasl_username, type: :string, default: nil, rdkafka: "sasl.username",
                  description: "Username for the PLAIN and SCRAM mechanisms"),
      Setting.new(name: :sasl_password, type: :string, default: nil, secret: true, rdkafka: "sasl.password",
                  description: "Password for the PLAIN and SCRAM mechanisms"),
      # Racecar 1 used it; Racecar 2 accepts and ignores it, and so does racecar.
      Setting.new(name: :sasl_over_ssl, type: :boolean, default: true, ignored: "security_protocol decides",
                  description: "Accepted for compatibility and ignored; security_protocol sasl_ssl means SASL over SSL"),

      # Producing
      Setting.new(name: :partitioner, type: :enum, default: "consistent_random", symbol: true,
                  allowed: %w[consistent consistent_random murmur2 murmur2_random fnv1a fnv1a_random],
                  rdkafka: "partitioner", description: "How a produced message's key picks its partition"),
      Setting.new(name: :producer_compression_codec, type: :enum, default: nil, symbol: true,
                  allowed: %w[none gzip lz4 snappy zstd], rdkafka: "compression.codec",
                  description: "Compress produced messages with this codec; none or not set means uncompressed"),

      # Datadog
      Setting.new(name: :datadog_enabled, type: :boolean, default: false,
                  description: "Send metrics to a Datadog agent"),
      # Not set: DD_AGENT_HOST / DD_DOGSTATSD_PORT, else localhost:8125.
      Setting.new(name: :datadog_host, type: :string, default: nil,
                  description: "Host of the Datadog agent; DD_AGENT_HOST or localhost when not set"),
      Setting.new(name: :datadog_port, type: :integer, default: nil, bound: 1,
                  description: "UDP port of the Datadog agent; DD_DOGSTATSD_PORT or 8125 when not set"),
      Setting.new(name: :datadog_socket_path, type: :string, default: nil,
                  description: "Unix socket of the Datadog agent; wins over host and port when set"),
      Setting.new(name: :datadog_namespace, type: :string, default: nil,
                  description: "Prefix of every metric name; racecar when not set"),
      Setting.new(name: :datadog_tags, type: :list, default: nil,
                  description: "Tags added to every metric, such as env:production"),

      # Liveness probe
      Setting.new(name: :liveness_probe_enabled, type: :boolean, default: false,
                  description: "Touch liveness_probe_file_path after every poll loop"),
      Setting.new(name: :liveness_probe_file_path, type: :string, default: File.join(Dir.tmpdir, "racecar-liveness"),
                  nullable: true, description: "File whose modification time shows the consumer is alive"),
      Setting.new(name: :liveness_probe_max_interval, type: :seconds, default: 5, bound: :positive,
                  description: "Oldest the liveness file may be for `racecarctl liveness_probe` to pass"),
      Setting.new(name: :liveness_probe_skip_config_files, type: :boolean, default: false,
                  description: "Let `racecarctl liveness_probe` skip config/racecar.yml and config/racecar.rb"),

      # Process
      Setting.new(name: :without_rails, type: :boolean, default: false,
                  description: "Do not boot the Rails application even when one is found"),
      Setting.new(name: :daemonize, type: :boolean, default: false,
                  description: "Run the consumer in the background"),
      Setting.new(name: :pidfile, type: :string, default: nil,
                  description: "Where a daemonized consumer writes its pid"),
      Setting.new(name: :require, type: :list, default: [],
                  description: "Libraries to require before the consumer class is loaded"),

      # Upstream runs one librdkafka consumer per subscribed topic and rotates
      # between them; racecar's one consumer serves every topic fairly.
      Setting.new(name: :multi_subscription_strategy, type: :enum, default: "exhaust-topic",
                  allowed: %w[round-robin exhaust-topic],
                  ignored: "racecar runs one group member for all subscribed topics and serves them in turn",
                  description: "Accepted for compatibility and ignored: one consumer serves every topic in turn"),

      # Pass-through
      Setting.new(name: :consumer, type: :properties, default: [],
                  description: "Extra librdkafka consumer properties, as key=value"),
      Setting.new(name: :producer, type: :properties, default: [],
                  description: "Extra librdkafka producer properties, as key=value")
    ].to_h { |setting| [setting.name, setting] }.freeze
  end
end
