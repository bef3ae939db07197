# frozen_string_literal: true

require "stringio"
require_relative "../support/cli"

RSpec.describe "racecar/heroku", :cli do
  let(:pems) do
    {
      "KAFKA_TRUSTED_CERT" => "-----BEGIN CERTIFICATE-----\ntrusted\n-----END CERTIFICATE-----\n",
      "KAFKA_CLIENT_CERT" => "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n",
      "KAFKA_CLIENT_CERT_KEY" => "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n"
    }
  end
  let(:heroku_env) do
    { "KAFKA_URL" => "kafka+ssl://ec2-1.example.com:9096,kafka+ssl://ec2-2.example.com:9096" }.merge(pems)
  end
  let(:config) { Racecar::Config.new(env: {}) }

  # Requiring the file configures Racecar.config from ENV: do that once, with
  # Heroku's variables in ENV and a throwaway global config.
  before(:all) do
    saved_config = Racecar.config
    saved_env = ENV.to_h
    Racecar.config = Racecar::Config.new(env: {})
    ENV.update("KAFKA_URL" => "kafka+ssl://required.example.com:9096", "KAFKA_TRUSTED_CERT" => "ca",
               "KAFKA_CLIENT_CERT" => "cert", "KAFKA_CLIENT_CERT_KEY" => "key")
    saved_stderr = $stderr
    $stderr = StringIO.new # the "=> Loading configuration" line
    require "racecar/heroku"
  ensure
    $stderr = saved_stderr
    ENV.replace(saved_env)
    Racecar.config = saved_config
  end

  def configure(env = heroku_env)
    Racecar::Heroku.configure(config, env: env)
  end

  it "takes the brokers from KAFKA_URL and switches to SSL" do
    configure
    expect(config.brokers).to eq(%w[ec2-1.example.com:9096 ec2-2.example.com:9096])
    expect(config.security_protocol).to eq(:ssl)
  end

  it "writes each certificate to a private file and points the ssl_* settings at it" do
    configure
    { ssl_ca_location: "KAFKA_TRUSTED_CERT", ssl_certificate_location: "KAFKA_CLIENT_CERT",
      ssl_key_location: "KAFKA_CLIENT_CERT_KEY" }.each do |key, variable|
      path = config.public_send(key)
      expect(File.read(path)).to eq(pems.fetch(variable))
      expect(File.stat(path).mode & 0o777).to eq(0o600)
    end
  end

  it "keeps the certificate files after garbage collection" do
    configure
    paths = [config.ssl_ca_location, config.ssl_certificate_location, config.ssl_key_location]
    GC.start
    expect(paths.map { |path| File.exist?(path) }).to eq([true, true, true])
  end

  it "turns off host name verification for the consumer and the producer" do
    configure
    expect(config.rdkafka_consumer).to include("ssl.endpoint.identification.algorithm" => "none",
                                               "security.protocol" => "ssl",
                                               "ssl.ca.location" => config.ssl_ca_location)
    expect(config.rdkafka_producer).to include("ssl.endpoint.identification.algorithm" => "none")
  end

  it "leaves an application's own ssl.endpoint.identification.algorithm alone" do
    config.consumer = ["ssl.endpoint.identification.algorithm=https"]
    configure
    expect(config.consumer).to eq(["ssl.endpoint.identification.algorithm=https"])
  end

  it "uses KAFKA_PREFIX, when Heroku sets it, as the group id prefix" do
    configure(heroku_env.merge("KAFKA_PREFIX" => "tenant-1."))
    expect(config.group_id_prefix).to eq("tenant-1.")
  end

  %w[KAFKA_URL KAFKA_TRUSTED_CERT KAFKA_CLIENT_CERT KAFKA_CLIENT_CERT_KEY].each do |variable|
    it "raises a ConfigError naming #{variable} when it is missing" do
      expect { configure(heroku_env.reject { |name, _| name == variable }) }
        .to raise_error(Racecar::ConfigError, "ENV #{variable} is not set")
    end
  end

  it "treats a blank variable as missing" do
    expect { configure(heroku_env.merge("KAFKA_CLIENT_CERT" => " ")) }
      .to raise_error(Racecar::ConfigError, "ENV KAFKA_CLIENT_CERT is not set")
  end

  it "passes a KAFKA_URL entry without a port on as it is (librdkafka adds the default port)" do
    configure(heroku_env.merge("KAFKA_URL" => "kafka+ssl://a.example.com, kafka+ssl://b.example.com:9096"))
    expect(config.brokers).to eq(%w[a.example.com b.example.com:9096])
  end

  it "does not replace a group_id_prefix the application set" do
    config.group_id_prefix = "mine."
    configure(heroku_env.merge("KAFKA_PREFIX" => "tenant-1."))
    expect(config.group_id_prefix).to eq("mine.")
  end

  describe "require in a fresh process" do
    let(:script) do
      'require "racecar/heroku"; puts Racecar.config.brokers.join(","); puts Racecar.config.ssl_key_location'
    end

    it "configures Racecar.config from the environment, and removes the files at exit" do
      out, err, status = run_command("-I", File.join(CliSpecHelpers::ROOT, "lib"), "-e", script, env: heroku_env)
      expect([status.exitstatus, err]).to eq([0, "=> Loading configuration from Heroku Kafka ENVs\n"])
      brokers, key_path = out.lines(chomp: true)
      expect(brokers).to eq("ec2-1.example.com:9096,ec2-2.example.com:9096")
      expect(File.exist?(key_path)).to be(false)
    end

    it "fails with the missing variable's name" do
      env = heroku_env.merge("KAFKA_URL" => nil)
      _out, err, status = run_command("-I", File.join(CliSpecHelpers::ROOT, "lib"), "-e", script, env: env)
      expect([status.exitstatus, err])
        .to eq([1, "=> Loading configuration from Heroku Kafka ENVs\nError: ENV KAFKA_URL is not set\n"])
    end
  end
end
