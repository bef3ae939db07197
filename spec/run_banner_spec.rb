# frozen_string_literal: true

require "tmpdir"
require "rbconfig"

# The line that names the leg at the start and end of every spec run (spec/support/run_banner.rb).
RSpec.describe RunBanner do
  # CI_LEG, not RACECAR_CI_LEG: racecar refuses unknown RACECAR_* variables.
  it "names Ruby, the loaded librdkafka, the broker address and CI_LEG" do
    line = described_class.line("CI_LEG" => "trixie", "KAFKA_BROKER_VERSION" => "4.4.0")

    expect(line).to start_with("racecar specs: ruby #{RUBY_VERSION}, librdkafka #{Racecar::Native.librdkafka_version}, ")
    expect(line).to match(/, Kafka \S+ broker at #{Regexp.escape(KafkaHelpers::BROKERS)}, leg=trixie\z/)
  end

  it "says leg=local outside CI" do
    expect(described_class.line({})).to end_with(", leg=local")
  end

  # A stand-in for bin/kafka's JVM: a process whose command line has -cp with a
  # kafka_2.13-<version>.jar, and its pid in a KAFKA_DIR of our own, so this
  # holds wherever the real broker's process is out of sight (the Debian 13 leg).
  it "takes the broker version from the classpath of the process in KAFKA_DIR/kafka.pid before the variables" do
    Dir.mktmpdir("racecar-run-banner") do |dir|
      jar = File.join(dir, "kafka_2.13-9.8.7.jar")
      File.write(jar, "")
      reader, writer = IO.pipe
      pid = Process.spawn(RbConfig.ruby, "-e", "STDIN.read", "--", "-cp", "#{dir}/*", in: reader)
      reader.close
      File.write(File.join(dir, "kafka.pid"), "#{pid}\n")
      begin
        version = described_class.broker_version({ "KAFKA_BROKER_VERSION" => "0.0.0-from-env" }, dir)
        expect(version).to eq("9.8.7")
      ensure
        writer.close
        Process.wait(pid)
      end
    end
  end

  it "falls back to $KAFKA_VERSION when it cannot see the broker's process" do
    stub_const("KafkaHelpers::KAFKA_DIR", "/nonexistent/kafka")

    expect(described_class.broker_version("KAFKA_VERSION" => "4.1.1")).to eq("4.1.1")
    expect(described_class.broker_version("KAFKA_BROKER_VERSION" => "4.4.0", "KAFKA_VERSION" => "4.1.1")).to eq("4.4.0")
    expect(described_class.broker_version({})).to eq("(version unknown)")
  end
end
