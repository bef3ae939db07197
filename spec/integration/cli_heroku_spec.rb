# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `--require racecar/heroku` with Heroku-style variables pointing at the spec
# broker's SSL listener (127.0.0.1:$KAFKA_SSL_PORT, certificates from bin/kafka's $KAFKA_DIR).
RSpec.describe "racecar with racecar/heroku (integration)", :kafka, :cli, :cli_integration do
  let(:certs) { KafkaHelpers::CERTS }
  let(:consumers_source) { recording_consumer_source("CliSpecHerokuConsumer") }

  around do |example|
    Dir.mktmpdir("racecar-cli-heroku") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), consumers_source)
      example.run
    end
  end

  let(:topic) { unique_name("cli-heroku") }
  let(:output) { File.join(@app, "consumed.txt") }

  def heroku_env(ca: "ca.pem")
    {
      "KAFKA_URL" => "kafka+ssl://#{KafkaHelpers::SSL_BROKERS}",
      "KAFKA_TRUSTED_CERT" => File.read(File.join(certs, ca)),
      "KAFKA_CLIENT_CERT" => File.read(File.join(certs, "client.pem")),
      "KAFKA_CLIENT_CERT_KEY" => File.read(File.join(certs, "client.key")),
      "SPEC_TOPIC" => topic,
      "SPEC_OUTPUT" => output,
      # Would be used if racecar/heroku did not take over the brokers.
      "RACECAR_BROKERS" => "127.0.0.1:1"
    }
  end

  def start(env)
    start_racecar("--require", "racecar/heroku", "--require", "./consumers", "--max-wait-time", "0.2",
                  "--group-id", unique_name("cli-heroku-group"), "CliSpecHerokuConsumer", env: env, chdir: @app)
  end

  it "consumes over SSL with the brokers and certificates from Heroku's variables" do
    produce_with_racecarctl(topic, "over-tls", chdir: @app)
    racecar = start(heroku_env)
    wait_until(timeout: 60, message: "message consumed over TLS\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      consumed(output).any?
    end
    expect(racecar.stdout).to include("Brokers: #{KafkaHelpers::SSL_BROKERS}")
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  end

  it "verifies the broker against KAFKA_TRUSTED_CERT" do
    produce_with_racecarctl(topic, "over-tls", chdir: @app)
    racecar = start(heroku_env(ca: "wrong-ca.pem"))
    wait_until(timeout: 30, message: "TLS verification failure\n#{racecar.describe}") do
      racecar.stdout.include?("certificate verify failed")
    end
    expect(consumed(output)).to eq([])
    racecar.signal("TERM")
    racecar.wait(timeout: 30)
  end
end
