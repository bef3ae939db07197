# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `group.protocol=consumer` (KIP-848) passed through the `consumer` list, with
# the real exe/racecar and broker: racecar stops at start with a ConfigError
# that says why (see lib/racecar/group_protocol_check.rb), before librdkafka
# gets the chance to fail in its own words, on every library and broker
# version the CI legs run (librdkafka 2.0.2 / 2.8.0, Kafka 3.9 / 4.x).
RSpec.describe "group.protocol=consumer (KIP-848) in the consumer list", :kafka, :cli, :cli_integration do
  around do |example|
    Dir.mktmpdir("racecar-group-protocol") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), recording_consumer_source("GroupProtocolSpecConsumer"))
      example.run
    end
  end

  let(:topic) { unique_name("group-protocol") }

  it "stops racecar at start with a ConfigError that names the reason and the librdkafka version" do
    create_topic(topic, partitions: 2)
    env = { "RACECAR_BROKERS" => brokers, "RACECAR_CONSUMER" => "group.protocol=consumer",
            "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => File.join(@app, "consumed.txt") }
    racecar = CliSpecProcess.new([CliSpecHelpers::RACECAR, "--require", "./consumers", "--group-id",
                                  unique_name("group-protocol-group"), "GroupProtocolSpecConsumer"],
                                 env: env, chdir: @app, log_dir: @app)
    racecar_processes << racecar
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1), racecar.describe
    version = Racecar::Native.librdkafka_version
    expected = if Gem::Version.new(version) < Gem::Version.new("2.4.0")
                 "needs librdkafka 2.4.0 or later, and this process loaded librdkafka #{version}"
               else
                 "racecar does not support group.protocol=consumer (KIP-848"
               end
    expect(racecar.stderr).to include(expected).and include("Remove group.protocol=consumer")
    expect(racecar.stdout).not_to include("Assigned partitions")
  end
end
