# frozen_string_literal: true

require "stringio"
require "tmpdir"
require_relative "../support/config"

RSpec.describe Racecar::Config do
  subject(:config) { described_class.new(env: env) }

  let(:env) { {} }

  def consumer_class(name = "BaconConsumer", **options)
    ConfigSpecSupport.consumer_class(name, **options)
  end

  def yaml_file(text)
    path = File.join(Dir.mktmpdir("racecar-config"), "racecar.yml")
    File.write(path, text)
    path
  end

  describe "defaults" do
    it "reads every key's default" do
      expect(described_class::SETTINGS.keys.to_h { |name| [name, config.public_send(name)] })
        .to eq(described_class::SETTINGS.transform_values(&:default))
    end

    it "has a ? reader for booleans" do
      expect([config.datadog_enabled?, config.ssl_verify_hostname?]).to eq([false, true])
    end

    it "starts without a consumer class or subscriptions, and with upstream's do-nothing error handler" do
      expect([config.consumer_class, config.subscriptions]).to eq([nil, []])
      expect(config.error_handler).to eq(Racecar::Config::NO_ERROR_HANDLER)
    end
  end

  describe "writers" do
    it "coerce the value" do
      config.max_wait_time = "2.5"
      expect(config.max_wait_time).to eq(2.5)
    end

    it "reject an invalid value, naming the key, the value and what is allowed" do
      expect { config.log_level = :loud }
        .to raise_error(Racecar::ConfigError, 'Invalid value for log_level: :loud; allowed values: debug, info, warn, error, fatal, unknown')
    end

    it "keep the old value after a rejected one" do
      config.fetch_messages = 5
      expect { config.fetch_messages = 0 }.to raise_error(Racecar::ConfigError)
      expect(config.fetch_messages).to eq(5)
    end

    it "are also reachable by name with []= and []" do
      config[:client_id] = "by-name"
      expect([config["client_id"], config.client_id]).to eq(%w[by-name by-name])
    end

    it "reject an unknown name with a suggestion" do
      expect { config[:brokr] = ["a:1"] }
        .to raise_error(Racecar::ConfigError, "unknown configuration variable brokr. Did you mean brokers?")
    end
  end

  describe "setting lookup" do
    it "finds a Setting by Symbol or String" do
      expect([described_class.setting(:max_bytes), described_class.setting("max_bytes")].map(&:name))
        .to eq(%i[max_bytes max_bytes])
    end

    it "returns nil for an unknown name" do
      expect(described_class.setting(:nope)).to be_nil
    end

    it "raises with a suggestion from setting!" do
      expect { described_class.setting!(:heartbeat_intervall) }
        .to raise_error(Racecar::ConfigError, "unknown configuration variable heartbeat_intervall. Did you mean heartbeat_interval?")
    end
  end

  describe "RACECAR_ environment variables" do
    let(:env) do
      {
        "RACECAR_BROKERS" => "kafka1:9092,kafka2:9092",
        "RACECAR_OFFSET_COMMIT_INTERVAL" => "5",
        "RACECAR_MAX_WAIT_TIME" => "1.5",
        "RACECAR_PAUSE_WITH_EXPONENTIAL_BACKOFF" => "true",
        "RACECAR_PARTITIONER" => "murmur2",
        "RACECAR_DATADOG_TAGS" => "env:test, team:core",
        "RACECAR_CONSUMER" => "partition.assignment.strategy=range,roundrobin,client.rack=a",
        "HOME" => "/root"
      }
    end

    it "are applied over the defaults, each coerced to its type" do
      expect(config).to have_attributes(
        brokers: %w[kafka1:9092 kafka2:9092], offset_commit_interval: 5, max_wait_time: 1.5,
        pause_with_exponential_backoff: true, partitioner: :murmur2, datadog_tags: %w[env:test team:core],
        consumer: ["partition.assignment.strategy=range,roundrobin", "client.rack=a"]
      )
    end

    context "with a boolean other than true, false, 1 or 0" do
      let(:env) { { "RACECAR_DATADOG_ENABLED" => "yes" } }

      it "raises, naming the variable and the key" do
        expect { config }.to raise_error(
          Racecar::ConfigError,
          'Invalid value for datadog_enabled (from RACECAR_DATADOG_ENABLED): "yes"; expected true or false'
        )
      end
    end

    context "with an unknown RACECAR_ variable" do
      let(:env) { { "RACECAR_BROKER" => "kafka:9092" } }

      it "raises with a suggestion" do
        expect { config }.to raise_error(Racecar::ConfigError, /RACECAR_BROKER: .* Did you mean RACECAR_BROKERS\?/)
      end
    end

    context "with an empty variable for an optional key" do
      let(:env) { { "RACECAR_LIVENESS_PROBE_FILE_PATH" => "" } }

      it "unsets the key" do
        expect(config.liveness_probe_file_path).to be_nil
      end
    end
  end

  describe "#apply_cli" do
    it "sets keys given as Symbols or Strings, coercing CLI strings" do
      config.apply_cli(max_wait_time: "2", "brokers" => ["a:1", "b:2"], pause_with_exponential_backoff: true)
      expect(config).to have_attributes(max_wait_time: 2, brokers: %w[a:1 b:2], pause_with_exponential_backoff: true)
    end

    it "says an invalid value came from the command line" do
      expect { config.apply_cli(fetch_messages: "many") }
        .to raise_error(Racecar::ConfigError, /fetch_messages \(from command line\): "many"/)
    end

    it "rejects an unknown key with a suggestion" do
      expect { config.apply_cli(clientid: "x") }.to raise_error(Racecar::ConfigError, /Did you mean client_id\?/)
    end

    it "skips nil values" do
      config.apply_cli(client_id: nil)
      expect(config.client_id).to eq("racecar")
    end

    it "beats environment variables" do
      config = described_class.new(env: { "RACECAR_CLIENT_ID" => "from-env" })
      config.apply_cli(client_id: "from-cli")
      expect(config.client_id).to eq("from-cli")
    end
  end

  describe "#load_file" do
    let(:path) do
      yaml_file(<<~YAML)
        common: &common
          client_id: <%= "common-" + "client" %>
          max_wait_time: 3
        development:
          <<: *common
          brokers: dev-kafka:9092
        production:
          <<: *common
          brokers:
            - prod-kafka1:9092
            - prod-kafka2:9092
          security_protocol: :ssl
      YAML
    end

    it "loads the section of the given environment, ERB evaluated" do
      config.load_file(path, "production")
      expect(config).to have_attributes(
        client_id: "common-client", max_wait_time: 3, brokers: %w[prod-kafka1:9092 prod-kafka2:9092],
        security_protocol: :ssl
      )
    end

    it "loads another environment's section for another environment" do
      config.load_file(path, :development)
      expect(config.brokers).to eq(%w[dev-kafka:9092])
    end

    it "returns true when the section exists" do
      expect(config.load_file(path, "production")).to be(true)
    end

    it "returns false and warns when the section is missing, changing nothing" do
      log = StringIO.new
      config.logger = Logger.new(log)
      expect(config.load_file(path, "staging")).to be(false)
      expect(config.to_h).to eq(described_class.new(env: {}).to_h)
      expect(log.string).to include("#{path} has no staging section; no racecar settings loaded from it")
    end

    it "beats environment variables" do
      config = described_class.new(env: { "RACECAR_CLIENT_ID" => "from-env" })
      config.load_file(path, "production")
      expect(config.client_id).to eq("common-client")
    end

    it "does not override values given on the command line" do
      config.apply_cli(max_wait_time: "7")
      config.load_file(path, "production")
      expect(config).to have_attributes(max_wait_time: 7, client_id: "common-client")
    end

    it "is beaten by writers used afterwards, as in config/racecar.rb" do
      config.load_file(path, "production")
      config.max_wait_time = 4
      expect(config.max_wait_time).to eq(4)
    end

    it "names the file and section when a value is invalid" do
      bad = yaml_file("test:\n  fetch_messages: lots\n")
      expect { config.load_file(bad, "test") }
        .to raise_error(Racecar::ConfigError, /fetch_messages \(from #{bad} \(test\)\): "lots"; expected an integer/)
    end

    it "rejects an unknown key with a suggestion" do
      bad = yaml_file("test:\n  sasl_pasword: x\n")
      expect { config.load_file(bad, "test") }.to raise_error(Racecar::ConfigError, /Did you mean sasl_password\?/)
    end
  end

  describe "#load_consumer_class" do
    it "derives the group id from the class name" do
      config.load_consumer_class(consumer_class("BaconConsumer"))
      expect(config.group_id).to eq("bacon-consumer")
    end

    it "derives a group id keeping namespaces, as upstream does" do
      config.load_consumer_class(consumer_class("Foo::BarConsumer"))
      expect(config.group_id).to eq("foo::bar-consumer")
    end

    it "prefixes a derived group id with group_id_prefix" do
      config.group_id_prefix = "kevin."
      config.load_consumer_class(consumer_class("BaconConsumer"))
      expect(config.group_id).to eq("kevin.bacon-consumer")
    end

    it "prefers a configured group_id to a derived one" do
      config.group_id = "configured"
      config.load_consumer_class(consumer_class)
      expect(config.group_id).to eq("configured")
    end

    it "prefers the class's own group_id to a configured one, without the prefix" do
      config.group_id = "configured"
      config.group_id_prefix = "kevin."
      config.load_consumer_class(consumer_class(group_id: "from-class"))
      expect(config.group_id).to eq("from-class")
    end

    it "derives afresh for a second class instead of keeping the first derived id" do
      config.load_consumer_class(consumer_class("BaconConsumer"))
      config.load_consumer_class(consumer_class("EggsConsumer"))
      expect(config.group_id).to eq("eggs-consumer")
    end

    it "cannot derive a group id for an anonymous class" do
      expect { config.load_consumer_class(consumer_class(nil)) }
        .to raise_error(Racecar::ConfigError, /anonymous consumer class; set group_id/)
    end

    it "takes the class's max_wait_time, fetch_messages and parallel_workers over configured ones" do
      config.apply_cli(max_wait_time: "7", fetch_messages: "9")
      config.load_consumer_class(consumer_class(max_wait_time: 0.5, fetch_messages: 10, parallel_workers: 3))
      expect(config).to have_attributes(max_wait_time: 0.5, fetch_messages: 10, parallel_workers: 3)
    end

    it "keeps configured values where the class leaves them nil" do
      config.max_wait_time = 7
      config.load_consumer_class(consumer_class)
      expect([config.max_wait_time, config.fetch_messages, config.parallel_workers]).to eq([7, 1000, nil])
    end

    it "validates the class's values like any other" do
      expect { config.load_consumer_class(consumer_class(fetch_messages: 0)) }
        .to raise_error(Racecar::ConfigError, "Invalid value for fetch_messages (from BaconConsumer.fetch_messages): 0; must be 1 or more")
    end

    it "remembers the class and its subscriptions" do
      subscriptions = [ConfigSpecSupport.subscription("a"), ConfigSpecSupport.subscription("b")]
      klass = consumer_class(subscriptions: subscriptions)
      config.load_consumer_class(klass)
      expect([config.consumer_class, config.subscriptions.map(&:topic)]).to eq([klass, %w[a b]])
    end

    it "returns the config" do
      expect(config.load_consumer_class(consumer_class)).to be(config)
    end
  end

  describe "#validate!" do
    it "returns the config when nothing is wrong" do
      expect(config.validate!).to be(config)
    end

    it "raises one ConfigError listing every problem, one per line" do
      config.brokers = []
      config.socket_timeout = 1
      config.max_wait_time = 2
      expect { config.validate! }.to raise_error(
        Racecar::ConfigError,
        "`brokers` must not be empty: name at least one broker (host:port)\n" \
        "`socket_timeout` must be longer than `max_wait_time` (socket_timeout is 1, max_wait_time is 2)"
      )
    end
  end

  describe "librdkafka properties" do
    it "builds the consumer's from the config" do
      config.apply_cli(brokers: "kafka:9092")
      config.load_consumer_class(consumer_class)
      expect(config.rdkafka_consumer).to include("bootstrap.servers" => "kafka:9092", "group.id" => "bacon-consumer")
    end

    it "builds the producer's from the config" do
      config.message_timeout = 2
      expect(config.rdkafka_producer).to include("message.timeout.ms" => "2000")
    end

    it "offers statistics_interval in milliseconds for the runner" do
      config.statistics_interval = 2.5
      expect(config.statistics_interval_ms).to eq(2500)
    end
  end

  describe "#on_error" do
    it "stores the handler returned by error_handler" do
      seen = []
      config.on_error { |exception, info| seen << [exception, info] }
      config.error_handler.call(:boom, { topic: "t" })
      expect(seen).to eq([[:boom, { topic: "t" }]])
    end

    it "needs a block" do
      expect { config.on_error }.to raise_error(ArgumentError, /needs a block/)
    end
  end

  describe "#logger" do
    it "logs to standard output at the configured level by default" do
      config.log_level = "warn"
      expect { config.logger.warn("to stdout") }.to output(/to stdout/).to_stdout
      expect(config.logger.level).to eq(Logger::WARN)
    end

    it "appends to logfile when one is set" do
      path = File.join(Dir.mktmpdir, "racecar.log")
      config.logfile = path
      config.logger.info("hello file")
      config.logger.close
      expect(File.read(path)).to include("hello file")
    end

    it "follows later log_level changes" do
      logger = config.logger
      config.log_level = :debug
      expect(logger.level).to eq(Logger::DEBUG)
    end

    it "is rebuilt for a new logfile" do
      first = config.logger
      config.logfile = File.join(Dir.mktmpdir, "other.log")
      expect(config.logger).not_to be(first)
    end

    it "can be replaced, and then keeps its own level" do
      mine = Logger.new(StringIO.new, level: Logger::ERROR)
      config.logger = mine
      config.log_level = :debug
      expect([config.logger, mine.level]).to eq([mine, Logger::ERROR])
    end

    it "raises ConfigError when the logfile cannot be opened" do
      config.logfile = "/nonexistent-dir/racecar.log"
      expect { config.logger }.to raise_error(Racecar::ConfigError, %r{Cannot open logfile "/nonexistent-dir/racecar.log"})
    end
  end

  describe "printing" do
    before do
      config.sasl_password = "hunter2"
      config.ssl_keystore_password = "keystore-pw"
      config.ssl_key_password = "key-pw"
      config.consumer = ["sasl.oauthbearer.client.secret=oauth-secret", "client.rack=a"]
      config.producer = ["sasl.password=producer-pw"]
      config.load_consumer_class(consumer_class(subscriptions: [
        ConfigSpecSupport.subscription("events", additional_config: { "ssl.key.password" => "sub-pw", "x" => "y" })
      ]))
    end

    let(:secrets) { %w[hunter2 keystore-pw key-pw oauth-secret producer-pw sub-pw] }

    it "masks secrets in to_h" do
      expect(config.to_h).to include(
        sasl_password: "[FILTERED]", ssl_keystore_password: "[FILTERED]", ssl_key_password: "[FILTERED]",
        consumer: ["sasl.oauthbearer.client.secret=[FILTERED]", "client.rack=a"],
        producer: ["sasl.password=[FILTERED]"], client_id: "racecar"
      )
    end

    it "masks secrets in inspect" do
      expect(config.inspect).to start_with("#<Racecar::Config brokers=").and include('sasl_password="[FILTERED]"')
      expect(secrets.select { |secret| config.inspect.include?(secret) }).to eq([])
    end

    it "dumps one key = value line per key, then the consumer class and subscriptions, masked" do
      lines = config.dump.lines(chomp: true)
      expect(lines).to include(
        'brokers = ["localhost:9092"]', "sasl_password = [FILTERED]", "max_wait_time = 1", "consumer_class = BaconConsumer",
        "subscription = events (start_from_beginning: true, max_bytes_per_partition: 1048576, " \
        'additional_config: {"ssl.key.password"=>"[FILTERED]", "x"=>"y"})'
      )
      expect(secrets.select { |secret| config.dump.include?(secret) }).to eq([])
    end

    it "uses the dump for to_s" do
      expect(config.to_s).to eq(config.dump)
    end

    it "shows an unset secret as nil rather than pretending it is set" do
      expect(described_class.new(env: {}).dump.lines(chomp: true)).to include("sasl_password = nil")
    end

    it "keeps the real values for librdkafka" do
      expect(config.rdkafka_consumer).to include("sasl.password" => "hunter2", "sasl.oauthbearer.client.secret" => "oauth-secret")
    end

    it "never puts a rejected password into an error message" do
      expect { config.ssl_key_password = { value: "leaked-pw" } }.to raise_error(Racecar::ConfigError) { |error|
        expect(error.message).to eq("Invalid value for ssl_key_password: [FILTERED]; expected a string")
      }
    end
  end
end
