# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"
require_relative "../support/datadog_agent"

# The real exe/racecar, in its own process, against the real broker.
RSpec.describe "racecar ConsumerClass (integration)", :kafka, :cli, :cli_integration do
  let(:consumers_source) do
    recording_consumer_source("CliSpecConsumer") + <<~RUBY
    class CliSpecCrashingConsumer < Racecar::Consumer
      subscribes_to "never-consumed"

      def initialize
        super
        begin
          raise IOError, "disk on fire"
        rescue IOError
          raise ArgumentError, "cannot start the consumer"
        end
      end
    end
    RUBY
  end

  around do |example|
    Dir.mktmpdir("racecar-cli-run") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), consumers_source)
      example.run
    end
  end

  let(:topic) { unique_name("cli-run") }
  let(:group) { unique_name("cli-run-group") }
  let(:output) { File.join(@app, "consumed.txt") }
  let(:env) { { "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output } }

  def start(*extra, env: {})
    start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2", *extra,
                  "CliSpecConsumer", env: self.env.merge(env), chdir: @app)
  end

  def wait_for_consumed(racecar, count, timeout: 60)
    wait_until(timeout: timeout, message: "#{count} consumed messages\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      consumed(output).size >= count
    end
  end

  it "consumes, logs what it runs, stops on SIGTERM and exits 0" do
    %w[one two three].each { |value| produce_with_racecarctl(topic, value, chdir: @app) }
    racecar = start
    wait_for_consumed(racecar, 3)
    racecar.signal("TERM")
    status = racecar.wait(timeout: 30)
    expect(status&.exitstatus).to eq(0), racecar.describe
    expect(consumed(output).map { |line| line[:value] }).to eq(%w[one two three])
    expect(racecar.stdout).to include("Starting CliSpecConsumer")
      .and include("Group: #{group}")
      .and include("Brokers: #{CliIntegrationHelpers::BROKER}")
      .and include("Topics: #{topic}")
      .and include("Received SIGTERM, stopping")
  end

  %w[INT QUIT].each do |signal|
    it "stops gracefully on SIG#{signal} too" do
      produce_with_racecarctl(topic, "x", chdir: @app)
      racecar = start
      wait_for_consumed(racecar, 1)
      racecar.signal(signal)
      expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
    end
  end

  it "prints its configuration, secrets masked, to stderr on SIGUSR1 and keeps running" do
    FileUtils.mkdir_p(File.join(@app, "config"))
    File.write(File.join(@app, "config", "racecar.yml"), "development:\n  client_id: from-yaml\n")
    File.write(File.join(@app, "config", "racecar.rb"),
               "Racecar.configure { |config| config.datadog_namespace = 'from-ruby' }\n")
    produce_with_racecarctl(topic, "x", chdir: @app)
    racecar = start("--sasl-password", "hunter2-secret", "--consumer", "sasl.password=other-secret")
    wait_for_consumed(racecar, 1)
    racecar.signal("USR1")
    wait_until(message: "configuration dump\n#{racecar.describe}") { racecar.stderr.include?("datadog_namespace") }
    dump = racecar.stderr
    expect(dump).to include("sasl_password").and include("[FILTERED]")
    expect(dump).to include('client_id = "from-yaml"').and include('datadog_namespace = "from-ruby"')
    expect(dump).not_to include("hunter2")
    expect(dump).not_to include("other-secret")
    expect(racecar.running?).to be(true)
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  end

  it "sends metrics to the Datadog agent when datadog_enabled is set" do
    agent = DatadogAgent.udp
    produce_with_racecarctl(topic, "measured", chdir: @app)
    racecar = start("--datadog-enabled", "--datadog-host", "127.0.0.1", "--datadog-port", agent.port.to_s,
                    "--datadog-namespace", "clispec")
    wait_for_consumed(racecar, 1)
    names = wait_until(timeout: 30, message: "consumer.messages metric") do
      seen = agent.metrics(datagrams: 50, timeout: 0.5).map(&:name)
      seen if seen.include?("clispec.consumer.messages")
    end
    expect(names).to all(start_with("clispec."))
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  ensure
    agent&.close
  end

  it "keeps the liveness probe passing while running and failing once stopped" do
    probe_file = File.join(@app, "alive")
    probe_env = {
      "RACECAR_LIVENESS_PROBE_ENABLED" => "true",
      "RACECAR_LIVENESS_PROBE_FILE_PATH" => probe_file,
      "RACECAR_LIVENESS_PROBE_MAX_INTERVAL" => "2"
    }
    ctl_env = probe_env.merge("RACECAR_LIVENESS_PROBE_SKIP_CONFIG_FILES" => "true")
    racecar = start(env: probe_env)
    wait_until(timeout: 60, message: "liveness file\n#{racecar.describe}") { File.exist?(probe_file) }
    sleep 3 # longer than max interval: only a consumer that keeps looping passes now
    _out, err, status = racecarctl("liveness_probe", env: ctl_env)
    expect([status.exitstatus, err]).to eq([0, ""])

    racecar.signal("STOP") # a hung consumer stops touching the file
    sleep 3
    _out, err, status = racecarctl("liveness_probe", env: ctl_env)
    racecar.signal("CONT")
    expect(status.exitstatus).to eq(1)
    expect(err).to match(/\ARacecar healthcheck failed: No liveness within interval 2s\. Last liveness at .+, \d+\.\d+ seconds ago\.\n\z/)

    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
    _out, err, status = racecarctl("liveness_probe", env: ctl_env)
    expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{probe_file}`\n"])
  end

  it "fails at start, naming the path and the setting, when the liveness file cannot be written" do
    racecar = start(env: { "RACECAR_LIVENESS_PROBE_ENABLED" => "true",
                           "RACECAR_LIVENESS_PROBE_FILE_PATH" => File.join(@app, "missing-dir", "alive") })
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to include("liveness_probe_file_path #{File.join(@app, 'missing-dir', 'alive')} is not writable")
  end

  it "names a misspelt consumer class, suggests the right one and exits 1" do
    racecar = start_racecar("--require", "./consumers", "CliSpecConsumr", env: env, chdir: @app)
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to eq("=> Starting Racecar consumer CliSpecConsumr...\n" \
                                 "=> Crashed: Racecar::Error: Consumer class CliSpecConsumr is not defined. " \
                                 "Did you mean CliSpecConsumer? Defined consumers: CliSpecConsumer, CliSpecCrashingConsumer.\n")
  end

  it "says which --require could not be loaded and exits 1" do
    racecar = start_racecar("--require", "./no_such_file", "CliSpecConsumer", env: env, chdir: @app)
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to eq("=> Starting Racecar consumer CliSpecConsumer...\n" \
                                 "=> Crashed: LoadError: cannot load such file -- ./no_such_file\n")
  end

  it "reports a crash with its cause chain and backtrace on stderr and exits 1" do
    racecar = start_racecar("--require", "./consumers", "CliSpecCrashingConsumer", env: env, chdir: @app)
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to match(
      /^=> Crashed: ArgumentError: cannot start the consumer\n--- Caused by: ---\nIOError: disk on fire\n.*consumers\.rb:\d+/
    )
  end

  it "rejects an invalid flag value with the key's name and exits 1" do
    racecar = start_racecar("--max-wait-time", "soon", "CliSpecConsumer", env: env, chdir: @app)
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to include("\n=> Crashed: Racecar::ConfigError: Invalid value for max_wait_time (from command line)")
  end
end
