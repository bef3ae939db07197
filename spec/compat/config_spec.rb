# frozen_string_literal: true

require "stringio"
require "tmpdir"
require_relative "../support/cli"

# The configuration surface of upstream Racecar 2.12, pinned from the contract
# (UPSTREAM-CONTRACT.md §2): every key with its type, default and allowed
# values, from Ruby, YAML, RACECAR_* variables and the command line, and
# validate!'s error class and wording.
RSpec.describe "Racecar 2.12 configuration (compat)" do
  def config(env = {})
    Racecar::Config.new(env: env)
  end

  # name => default as upstream 2.12 reads it back (§2.2), in its order.
  upstream_defaults = {
    brokers: ["localhost:9092"], client_id: "racecar", offset_commit_interval: 10, heartbeat_interval: 10,
    partition_assignment_strategy: "range,roundrobin", consumer: [], producer: [], fetch_messages: 1000,
    fetch_min_bytes: 1, synchronous_commits: false, pause_timeout: 10, max_pause_timeout: nil,
    pause_with_exponential_backoff: false, session_timeout: 30, max_poll_interval: 300, socket_timeout: 30,
    max_wait_time: 1, message_timeout: 300, max_bytes: 10_485_760, group_id_prefix: nil, group_id: nil,
    logfile: nil, log_level: "info", partitioner: :consistent_random, security_protocol: nil,
    ssl_ca_location: nil, ssl_crl_location: nil, ssl_keystore_location: nil, ssl_keystore_password: nil,
    ssl_certificate_location: nil, ssl_key_location: nil, ssl_key_password: nil, sasl_mechanism: nil,
    sasl_kerberos_service_name: nil, sasl_kerberos_principal: nil, sasl_kerberos_kinit_cmd: nil,
    sasl_kerberos_keytab: nil, sasl_kerberos_min_time_before_relogin: nil, sasl_username: nil,
    sasl_password: nil, sasl_over_ssl: true, pidfile: nil, daemonize: false, producer_compression_codec: nil,
    datadog_enabled: false, datadog_host: nil, datadog_port: nil, datadog_socket_path: nil,
    datadog_namespace: nil, datadog_tags: nil, ssl_verify_hostname: true, without_rails: false,
    statistics_interval: 1, liveness_probe_enabled: false,
    liveness_probe_file_path: File.join(Dir.tmpdir, "racecar-liveness"), liveness_probe_max_interval: 5,
    liveness_probe_skip_config_files: false, multi_subscription_strategy: "exhaust-topic"
  }.freeze

  booleans = %i[synchronous_commits pause_with_exponential_backoff sasl_over_ssl daemonize datadog_enabled
                ssl_verify_hostname without_rails liveness_probe_enabled liveness_probe_skip_config_files].freeze

  describe "keys and defaults" do
    upstream_defaults.each do |name, default|
      it "has #{name} with upstream's default #{default.inspect}" do
        expect(config.public_send(name)).to eq(default)
      end
    end

    it "keeps this racecar's larger min_message_queue_size default (upstream: 2000)" do
      expect(config.min_message_queue_size).to eq(1_000_000)
    end

    booleans.each do |name|
      it "answers #{name}? like upstream's boolean readers" do
        expect(config.public_send(:"#{name}?")).to eq(upstream_defaults.fetch(name))
      end
    end

    it "has upstream's non-setting readers" do
      c = config
      expect(c.error_handler).to respond_to(:call)
      expect { c.error_handler.call(RuntimeError.new("x")) }.not_to raise_error
      expect(c.max_wait_time_ms).to eq(1000)
      expect(c.subscriptions).to eq([])
      expect(c.consumer_class).to be_nil
    end

    it "has KingKonf's get and decode, and writers for subscriptions and consumer_class" do
      c = config
      expect(c.get(:client_id)).to eq("racecar")
      expect(c.decode(:security_protocol, "ssl")).to eq(:ssl)
      expect(c.decode(:brokers, "a:1,b:2")).to eq(%w[a:1 b:2])
      expect(c.security_protocol).to be_nil
      c.subscriptions = [:one]
      c.consumer_class = String
      expect([c.subscriptions, c.consumer_class]).to eq([[:one], String])
    end
  end

  describe "Symbol-typed keys (issue 16, item 9)" do
    symbol_values = { security_protocol: :ssl, partitioner: :murmur2, producer_compression_codec: :lz4 }.freeze

    symbol_values.each do |name, value|
      it "reads #{name} back as a Symbol when set from Ruby with a String or a Symbol" do
        c = config
        c.public_send(:"#{name}=", value.to_s)
        expect(c.public_send(name)).to eq(value)
        c.public_send(:"#{name}=", value)
        expect(c.public_send(name)).to eq(value)
      end

      it "reads #{name} back as a Symbol from RACECAR_#{name.upcase}" do
        expect(config("RACECAR_#{name.upcase}" => value.to_s).public_send(name)).to eq(value)
      end
    end

    it "reads them back as Symbols from config/racecar.yml" do
      Dir.mktmpdir("racecar-compat-yaml") do |dir|
        path = File.join(dir, "racecar.yml")
        File.write(path, <<~YAML)
          production:
            security_protocol: ssl
            partitioner: murmur2
            producer_compression_codec: lz4
        YAML
        c = config
        c.load_file(path, "production")
        expect([c.security_protocol, c.partitioner, c.producer_compression_codec]).to eq(%i[ssl murmur2 lz4])
      end
    end

    it "still rejects values upstream does not allow" do
      expect { config.security_protocol = :tls }.to raise_error(Racecar::ConfigError, /security_protocol/)
      expect { config.partitioner = "random" }.to raise_error(Racecar::ConfigError, /partitioner/)
    end

    it "passes them to librdkafka as their names" do
      c = config("RACECAR_SECURITY_PROTOCOL" => "ssl", "RACECAR_PARTITIONER" => "fnv1a")
      expect(c.rdkafka_producer).to include("security.protocol" => "ssl", "partitioner" => "fnv1a")
    end
  end

  describe "from the command line (exe/racecar)", :cli do
    it "reads Symbol-typed flags back as Symbols and takes multi_subscription_strategy" do
      Dir.mktmpdir("racecar-compat-cli") do |dir|
        out = File.join(dir, "values.txt")
        File.write(File.join(dir, "probe_consumer.rb"), <<~RUBY)
          class ProbeConsumer < Racecar::Consumer
            subscribes_to "compat-config-never-consumed"
            def initialize
              c = Racecar.config
              File.write(ENV.fetch("OUT"), [c.security_protocol, c.partitioner, c.producer_compression_codec,
                                            c.multi_subscription_strategy, c.sasl_over_ssl].inspect)
              exit 0
            end
            def process(_message); end
          end
        RUBY
        stdout, stderr, status = run_command(
          CliSpecHelpers::RACECAR, "--without-rails", "--require", "./probe_consumer",
          "--security-protocol", "plaintext", "--partitioner", "murmur2_random",
          "--producer-compression-codec", "none", "--multi-subscription-strategy", "round-robin",
          "ProbeConsumer", env: { "OUT" => out, "RACECAR_SASL_OVER_SSL" => "0" }, chdir: dir, timeout: 60
        )
        expect(status.exitstatus).to eq(0), stderr
        expect(File.read(out)).to eq([:plaintext, :murmur2_random, :none, "round-robin", false].inspect)
        # Logged once at start, by validate!:
        expect(stdout.scan("multi_subscription_strategy is accepted for compatibility").size).to eq(1)
      end
    end
  end

  describe "multi_subscription_strategy (issue 16, item 7)" do
    it "accepts round-robin and exhaust-topic from Ruby, env and YAML" do
      expect(config("RACECAR_MULTI_SUBSCRIPTION_STRATEGY" => "round-robin").multi_subscription_strategy)
        .to eq("round-robin")
      c = config
      c.multi_subscription_strategy = "exhaust-topic"
      expect(c.multi_subscription_strategy).to eq("exhaust-topic")
      Dir.mktmpdir("racecar-compat-yaml") do |dir|
        path = File.join(dir, "racecar.yml")
        File.write(path, "production:\n  multi_subscription_strategy: round-robin\n")
        c.load_file(path, "production")
        expect(c.multi_subscription_strategy).to eq("round-robin")
      end
    end

    it "rejects other values, as upstream does" do
      expect { config.multi_subscription_strategy = "random" }
        .to raise_error(Racecar::ConfigError, /multi_subscription_strategy/)
    end

    it "is logged once, at validation, as ignored; so is sasl_over_ssl" do
      log = StringIO.new
      c = config("RACECAR_MULTI_SUBSCRIPTION_STRATEGY" => "round-robin", "RACECAR_SASL_OVER_SSL" => "false")
      c.logger = Logger.new(log)
      c.validate!
      c.validate!
      expect(log.string.scan(/multi_subscription_strategy is accepted for compatibility .* and ignored/).size).to eq(1)
      expect(log.string.scan(/sasl_over_ssl is accepted for compatibility .* and ignored/).size).to eq(1)
    end

    it "logs nothing about keys left at their defaults" do
      log = StringIO.new
      c = config
      c.logger = Logger.new(log)
      c.validate!
      expect(log.string).not_to include("ignored")
    end
  end

  describe "producer_compression_codec none (issue 16, item 8)" do
    it "is accepted from Ruby and from RACECAR_PRODUCER_COMPRESSION_CODEC" do
      c = config
      c.producer_compression_codec = :none
      expect(c.producer_compression_codec).to eq(:none)
      expect(config("RACECAR_PRODUCER_COMPRESSION_CODEC" => "none").producer_compression_codec).to eq(:none)
    end

    it "means no compression to librdkafka" do
      expect(config("RACECAR_PRODUCER_COMPRESSION_CODEC" => "none").rdkafka_producer)
        .to include("compression.codec" => "none")
    end

    # Tagged on the group so that spec_helper deletes the topic afterwards.
    describe "with the broker", :kafka, :cli do
      it "produces uncompressed with RACECAR_PRODUCER_COMPRESSION_CODEC=none (racecarctl produce)" do
        topic = create_topic(unique_name("compat-none"))
        _out, err, status = racecarctl("produce", "-t", topic, "-v", "plain",
                                       env: { "RACECAR_BROKERS" => brokers,
                                              "RACECAR_PRODUCER_COMPRESSION_CODEC" => "none" })
        expect([status.exitstatus, err]).to eq([0, "=> Delivered message to Kafka cluster\n"])
      end
    end

    it "accepts every codec upstream accepts, and zstd" do
      %i[none lz4 snappy gzip zstd].each do |codec|
        expect(config("RACECAR_PRODUCER_COMPRESSION_CODEC" => codec.to_s).producer_compression_codec).to eq(codec)
      end
    end
  end

  describe "values upstream accepts" do
    it "decodes booleans from 1 and 0 in RACECAR_* variables" do
      c = config("RACECAR_DAEMONIZE" => "1", "RACECAR_SSL_VERIFY_HOSTNAME" => "0")
      expect([c.daemonize, c.ssl_verify_hostname]).to eq([true, false])
    end

    it "decodes lists from comma-separated RACECAR_* variables" do
      expect(config("RACECAR_BROKERS" => "a:9092,b:9092").brokers).to eq(["a:9092", "b:9092"])
    end

    it "accepts every Logger level name as log_level" do
      %w[debug info warn error fatal unknown].each do |level|
        expect(config("RACECAR_LOG_LEVEL" => level).log_level).to eq(level)
      end
    end

    it "accepts every sasl_mechanism upstream allows, as a String" do
      %w[GSSAPI PLAIN SCRAM-SHA-256 SCRAM-SHA-512].each do |mechanism|
        expect(config("RACECAR_SASL_MECHANISM" => mechanism).sasl_mechanism).to eq(mechanism)
      end
    end

    it "turns certificate verification off with ssl_verify_hostname false, as upstream does" do
      c = config("RACECAR_SSL_VERIFY_HOSTNAME" => "false")
      expect(c.rdkafka_consumer).to include("enable.ssl.certificate.verification" => "false")
    end
  end

  describe "derived group ids (committed offsets live under them)" do
    {
      "MyFunnyConsumer" => "my-funny-consumer", "Foo::BarConsumer" => "foo::bar-consumer",
      "HTTPEventsConsumer" => "httpevents-consumer", "Events2Consumer" => "events2consumer"
    }.each do |class_name, group_id|
      it "turns #{class_name} into #{group_id}, as upstream does" do
        klass = Class.new do
          define_singleton_method(:name) { class_name }
          define_singleton_method(:subscriptions) { [] }
        end
        c = config
        c.load_consumer_class(klass)
        expect(c.group_id).to eq(group_id)
        c = config("RACECAR_GROUP_ID_PREFIX" => "app.")
        c.load_consumer_class(klass)
        expect(c.group_id).to eq("app.#{group_id}")
      end
    end
  end

  it "refuses an unknown key with upstream's words, from Ruby and from YAML" do
    expect { config.set(:no_such_key, 1) }
      .to raise_error(Racecar::ConfigError, /unknown configuration variable no_such_key/)
    Dir.mktmpdir("racecar-compat-yaml") do |dir|
      path = File.join(dir, "racecar.yml")
      File.write(path, "production:\n  no_such_key: 1\n")
      expect { config.load_file(path, "production") }
        .to raise_error(Racecar::ConfigError, /unknown configuration variable no_such_key/)
    end
  end

  describe "unknown RACECAR_* variables" do
    it "raise a Racecar::ConfigError with upstream's wording" do
      expect { config("RACECAR_NO_SUCH_KEY" => "1") }
        .to raise_error(Racecar::ConfigError, /unknown environment variable RACECAR_NO_SUCH_KEY/)
    end
  end

  describe "validate! (issue 16, item 12)" do
    it "raises Racecar::ConfigError with upstream's words for empty brokers" do
      c = config
      c.brokers = []
      expect { c.validate! }.to raise_error(Racecar::ConfigError, /`brokers` must not be empty/)
    end

    it "raises with upstream's words when socket_timeout is not longer than max_wait_time" do
      c = config
      c.max_wait_time = 30
      expect { c.validate! }
        .to raise_error(Racecar::ConfigError, /`socket_timeout` must be longer than `max_wait_time`/)
    end

    it "raises with upstream's words for max_pause_timeout without exponential backoff" do
      c = config
      c.max_pause_timeout = 60
      message = "`max_pause_timeout` only makes sense when `pause_with_exponential_backoff` is enabled"
      expect { c.validate! }.to raise_error(Racecar::ConfigError, /#{Regexp.escape(message)}/)
    end

    it "accepts what upstream's validate! accepts" do
      c = config
      c.pause_with_exponential_backoff = true
      c.max_pause_timeout = 5 # below pause_timeout: upstream caps the pause at 5
      c.session_timeout = 10  # heartbeat_interval is 10 too
      c.sasl_mechanism = "PLAIN" # without a SASL protocol librdkafka ignores it
      c.logger = Logger.new(StringIO.new)
      expect { c.validate! }.not_to raise_error
    end
  end
end
