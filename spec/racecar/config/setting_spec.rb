# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::Setting do
  let(:max_wait_time) { Racecar::Config.setting(:max_wait_time) }
  let(:sasl_password) { Racecar::Config.setting(:sasl_password) }

  it "names its environment variable" do
    expect(max_wait_time.env_name).to eq("RACECAR_MAX_WAIT_TIME")
  end

  it "names its command-line flag" do
    expect(max_wait_time.flag).to eq("--max-wait-time")
  end

  it "is frozen, with a frozen default" do
    brokers = Racecar::Config.setting(:brokers)
    expect([brokers, brokers.default, brokers.default.first]).to all(be_frozen)
  end

  it "is secret when declared so or when its name mentions a password" do
    made_up = described_class.new(name: :vault_password, type: :string, default: nil, description: "x")
    expect([sasl_password.secret?, made_up.secret?, max_wait_time.secret?]).to eq([true, true, false])
  end

  it "rejects an unknown type" do
    expect { described_class.new(name: :x, type: :date, default: nil, description: "x") }
      .to raise_error(ArgumentError, /unknown setting type :date/)
  end

  it "says where an invalid value came from" do
    expect { max_wait_time.coerce("soon", source: "RACECAR_MAX_WAIT_TIME") }.to raise_error(
      Racecar::ConfigError,
      'Invalid value for max_wait_time (from RACECAR_MAX_WAIT_TIME): "soon"; expected a number of seconds'
    )
  end

  it "masks a secret's invalid value" do
    expect { sasl_password.coerce(%w[hunter2]) }
      .to raise_error(Racecar::ConfigError, "Invalid value for sasl_password: [FILTERED]; expected a string")
  end

  it "displays a secret as [FILTERED] and an unset secret as nil" do
    expect([sasl_password.display("hunter2"), sasl_password.display(nil)]).to eq(["[FILTERED]", nil])
  end

  it "displays secret librdkafka properties masked" do
    consumer = Racecar::Config.setting(:consumer)
    expect(consumer.display(["sasl.password=x", "client.rack=a"])).to eq(["sasl.password=[FILTERED]", "client.rack=a"])
  end

  it "describes itself as a Hash for the CLI and docs" do
    expect(max_wait_time.to_h).to include(
      name: :max_wait_time, type: :seconds, default: 1, env_name: "RACECAR_MAX_WAIT_TIME",
      flag: "--max-wait-time", rdkafka: "fetch.wait.max.ms", secret: false, nullable: false
    )
  end

  it "never shows a secret default in inspect" do
    secret = described_class.new(name: :token_secret, type: :string, default: "s3cr3t", description: "x")
    expect(secret.inspect).not_to include("s3cr3t")
  end
end
