# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `require "racecar/heroku"` as in upstream Racecar 2.12 (UPSTREAM-CONTRACT.md
# §6.3), through the real executables: exe/racecar consuming over SSL from
# the spec broker's SSL listener with Heroku's variables, and the messages
# and exit status when one is missing.
RSpec.describe "racecar/heroku as in Racecar 2.12 (compat)", :kafka, :cli, :cli_integration do
  let(:certs) { File.join(ENV.fetch("KAFKA_DIR", File.join(CliSpecHelpers::ROOT, "tmp", "kafka")), "certs") }
  let(:ssl_port) { ENV.fetch("KAFKA_SSL_PORT", "9094") }
  let(:lib) { File.join(CliSpecHelpers::ROOT, "lib") }
  let(:loading) { "=> Loading configuration from Heroku Kafka ENVs\n" }

  around do |example|
    Dir.mktmpdir("racecar-compat-heroku") do |dir|
      @app = dir
      example.run
    end
  end

  def heroku_env(prefix: "KAFKA", url: "kafka+ssl://127.0.0.1:#{ssl_port}")
    {
      "#{prefix}_URL" => url,
      "#{prefix}_TRUSTED_CERT" => File.read(File.join(certs, "ca.pem")),
      "#{prefix}_CLIENT_CERT" => File.read(File.join(certs, "client.pem")),
      "#{prefix}_CLIENT_CERT_KEY" => File.read(File.join(certs, "client.key"))
    }
  end

  def ruby(script, env)
    run_command("-I", lib, "-e", script, env: env, chdir: @app)
  end

  it "consumes over SSL with exe/racecar, a KAFKA_URL entry without a port included (issue 16, item 10)" do
    topic = create_topic(unique_name("compat-heroku"))
    produce_messages(topic, ["over-tls"])
    output = File.join(@app, "consumed.txt")
    File.write(File.join(@app, "consumers.rb"), recording_consumer_source("CompatHerokuConsumer"))
    # localhost without a port means localhost:9092, the plaintext listener,
    # where TLS fails; librdkafka moves on to the other entry.
    env = heroku_env(url: "kafka+ssl://localhost,kafka+ssl://127.0.0.1:#{ssl_port}")
          .merge("SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output, "RACECAR_BROKERS" => "127.0.0.1:1")
    racecar = start_racecar("--without-rails", "--require", "racecar/heroku", "--require", "./consumers",
                            "--max-wait-time", "0.2", "--group-id", unique_name("compat-heroku-group"),
                            "CompatHerokuConsumer", env: env, chdir: @app)
    wait_until(timeout: 60, message: "message consumed over TLS\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      consumed(output).any?
    end
    expect(consumed(output).map { |line| line[:value] }).to eq(["over-tls"])
    expect(racecar.stderr).to include(loading)
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  end

  %w[KAFKA_URL KAFKA_TRUSTED_CERT KAFKA_CLIENT_CERT KAFKA_CLIENT_CERT_KEY].each do |variable|
    it "stops exe/racecar with `Error: ENV #{variable} is not set` and exit 1 when it is missing" do
      File.write(File.join(@app, "consumers.rb"), recording_consumer_source("CompatHerokuConsumer"))
      env = heroku_env.merge(variable => nil, "SPEC_TOPIC" => "unused", "SPEC_OUTPUT" => "unused")
      _out, err, status = run_command(CliSpecHelpers::RACECAR, "--without-rails", "--require", "racecar/heroku",
                                      "--require", "./consumers", "CompatHerokuConsumer", env: env, chdir: @app)
      expect(status.exitstatus).to eq(1)
      # exe/racecar's "=> Starting Racecar consumer" line may come first: racecar
      # requires --require libraries after the configuration files, upstream while parsing.
      expect(err).to end_with("#{loading}Error: ENV #{variable} is not set\n")
      expect(err.lines.grep(/Error|Crashed/)).to eq(["Error: ENV #{variable} is not set\n"])
    end
  end

  it "sets security_protocol :ssl, the brokers without the scheme, and certificate files that survive GC" do
    script = <<~RUBY
      require "racecar/heroku"
      c = Racecar.config
      GC.start
      p [c.security_protocol, c.brokers, [c.ssl_ca_location, c.ssl_certificate_location, c.ssl_key_location].map { |f| File.read(f).size > 0 }]
    RUBY
    out, err, status = ruby(script, heroku_env(url: "kafka+ssl://a.example.com:9096,kafka+ssl://b.example.com"))
    expect([status.exitstatus, err]).to eq([0, loading])
    expect(out).to eq("#{[:ssl, ['a.example.com:9096', 'b.example.com'], [true, true, true]].inspect}\n")
  end

  it "reads an aliased add-on's variables with Racecar::Heroku.kafka_name=" do
    script = 'require "racecar/heroku"; Racecar::Heroku.kafka_name = "HEROKU_KAFKA_RED"; p Racecar.config.brokers'
    env = heroku_env.merge(heroku_env(prefix: "HEROKU_KAFKA_RED", url: "kafka+ssl://red.example.com:9096"))
    out, _err, status = ruby(script, env)
    expect([status.exitstatus, out]).to eq([0, "[\"red.example.com:9096\"]\n"])
  end

  it "exits 1 with upstream's message when kafka_name= names missing variables" do
    script = 'require "racecar/heroku"; Racecar::Heroku.kafka_name = "HEROKU_KAFKA_BLUE"; puts "not reached"'
    out, err, status = ruby(script, heroku_env)
    expect([status.exitstatus, out, err]).to eq([1, "", "#{loading}Error: ENV HEROKU_KAFKA_BLUE_URL is not set\n"])
  end
end
