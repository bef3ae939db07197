# frozen_string_literal: true

require "tmpdir"

# The line that names the leg at the start and end of every spec run (spec/support/run_banner.rb).
RSpec.describe RunBanner do
  it "names Ruby, the loaded librdkafka, the broker address and RACECAR_CI_LEG" do
    # KAFKA_VERSION for a leg that can see neither the broker's process nor a
    # kafka-version file (the trixie leg against a broker started before bin/kafka wrote one).
    line = described_class.line("RACECAR_CI_LEG" => "trixie", "KAFKA_VERSION" => "3.9.1")

    expect(line).to start_with("racecar specs: ruby #{RUBY_VERSION}, librdkafka #{Racecar::Native.librdkafka_version}, ")
    expect(line).to match(/, Kafka \S+ broker at #{Regexp.escape(KafkaHelpers::BROKERS)}, leg=trixie\z/)
  end

  it "names the leg from CI_LEG, which .ci/run and .ci/trixie-leg set, before RACECAR_CI_LEG" do
    expect(described_class.line("CI_LEG" => "host", "RACECAR_CI_LEG" => "other")).to end_with(", leg=host")
  end

  it "says leg=local outside CI" do
    expect(described_class.line({})).to end_with(", leg=local")
  end

  # A stand-in for the broker bin/kafka started: a process of our own (visible
  # on every leg, unlike the broker from inside the trixie leg's PID
  # namespace) with a "-cp DIR/*" classpath holding a kafka_2.13-<version>.jar.
  it "takes the broker version from the jar on the classpath of the process in KAFKA_DIR/kafka.pid before $KAFKA_VERSION" do
    Dir.mktmpdir("racecar-banner") do |dir|
      File.write(File.join(dir, "kafka_2.13-9.8.7.jar"), "")
      reader, writer = IO.pipe
      pid = spawn("sh", "-c", "read line", "sh", "-cp", "#{dir}/*", in: reader)
      reader.close
      File.write(File.join(dir, "kafka.pid"), "#{pid}\n")
      File.write(File.join(dir, "kafka-version"), "6.5.4\n")
      stub_const("KafkaHelpers::KAFKA_DIR", dir)

      expect(described_class.broker_version("KAFKA_VERSION" => "0.0.0")).to eq("9.8.7")
      writer.close
      Process.wait(pid)
      # The process gone: the version bin/kafka wrote when it started the broker.
      expect(described_class.broker_version("KAFKA_VERSION" => "0.0.0")).to eq("6.5.4")
    ensure
      writer&.close unless writer&.closed?
    end
  end

  it "falls back to $KAFKA_VERSION when it cannot see the broker's process" do
    stub_const("KafkaHelpers::KAFKA_DIR", "/nonexistent/kafka")

    expect(described_class.broker_version("KAFKA_VERSION" => "4.1.1")).to eq("4.1.1")
    expect(described_class.broker_version("KAFKA_BROKER_VERSION" => "4.4.0", "KAFKA_VERSION" => "3.9.1")).to eq("4.4.0")
    expect(described_class.broker_version({})).to eq("(version unknown)")
  end
end
