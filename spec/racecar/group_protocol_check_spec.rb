# frozen_string_literal: true

require "racecar/group_protocol_check"

RSpec.describe Racecar::GroupProtocolCheck do
  def check(properties, version)
    described_class.check!(properties, librdkafka_version: version)
  end

  it "refuses group.protocol=consumer with a librdkafka older than 2.4.0, naming the one loaded" do
    expect { check({ "group.protocol" => "consumer" }, "2.0.2") }
      .to raise_error(Racecar::ConfigError, /needs librdkafka 2\.4\.0 or later, and this process loaded librdkafka 2\.0\.2\. Remove group\.protocol=consumer/)
  end

  it "refuses it with a newer librdkafka too, saying what goes wrong there" do
    expect { check({ "group.protocol" => " Consumer " }, "2.8.0") }
      .to raise_error(Racecar::ConfigError, /does not support group\.protocol=consumer .*stopped receiving messages from the partitions it kept.*loaded librdkafka 2\.8\.0/)
  end

  it "lets the classic protocol, or no group.protocol at all, through on any librdkafka" do
    expect { check({ "group.protocol" => "classic" }, "2.8.0") }.not_to raise_error
    expect { check({}, "2.0.2") }.not_to raise_error
  end
end
