# frozen_string_literal: true

# The line that names the leg at the start and end of every spec run (spec/support/run_banner.rb).
RSpec.describe RunBanner do
  it "names Ruby, the loaded librdkafka, the broker address and RACECAR_CI_LEG" do
    line = described_class.line("RACECAR_CI_LEG" => "trixie")

    expect(line).to start_with("racecar specs: ruby #{RUBY_VERSION}, librdkafka #{Racecar::Native.librdkafka_version}, ")
    expect(line).to match(/, Kafka \S+ broker at #{Regexp.escape(KafkaHelpers::BROKERS)}, leg=trixie\z/)
  end

  it "names the leg from CI_LEG, which .ci/run and .ci/trixie-leg set, before RACECAR_CI_LEG" do
    expect(described_class.line("CI_LEG" => "host", "RACECAR_CI_LEG" => "other")).to end_with(", leg=host")
  end

  it "says leg=local outside CI" do
    expect(described_class.line({})).to end_with(", leg=local")
  end

  it "takes the broker version from the broker bin/kafka runs in KAFKA_DIR before $KAFKA_VERSION", :kafka do
    version = described_class.broker_version("KAFKA_VERSION" => "0.0.0-from-env")

    expect(version).to match(/\A\d+\.\d+\.\d+\z/) # from kafka_2.13-<version>.jar, not the variable
  end

  it "falls back to $KAFKA_VERSION when it cannot see the broker's process" do
    stub_const("KafkaHelpers::KAFKA_DIR", "/nonexistent/kafka")

    expect(described_class.broker_version("KAFKA_VERSION" => "4.1.1")).to eq("4.1.1")
    expect(described_class.broker_version("KAFKA_BROKER_VERSION" => "4.4.0", "KAFKA_VERSION" => "3.9.1")).to eq("4.4.0")
    expect(described_class.broker_version({})).to eq("(version unknown)")
  end
end
