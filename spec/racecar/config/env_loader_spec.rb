# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::EnvLoader do
  def assignments(env)
    result = []
    described_class.each_assignment(env) { |*assignment| result << assignment }
    result
  end

  it "yields each RACECAR_ variable as a setting name, raw value and variable name" do
    expect(assignments("RACECAR_CLIENT_ID" => "me", "RACECAR_MAX_WAIT_TIME" => "2"))
      .to eq([[:client_id, "me", "RACECAR_CLIENT_ID"], [:max_wait_time, "2", "RACECAR_MAX_WAIT_TIME"]])
  end

  it "ignores variables without the prefix" do
    expect(assignments("CLIENT_ID" => "me", "PATH" => "/bin")).to eq([])
  end

  it "rejects an unknown RACECAR_ variable and suggests the closest one" do
    expect { assignments("RACECAR_MAX_WAIT" => "2") }.to raise_error(
      Racecar::ConfigError,
      "unknown environment variable RACECAR_MAX_WAIT: racecar has no setting max_wait. " \
      "Did you mean RACECAR_MAX_WAIT_TIME?"
    )
  end

  it "rejects an unknown RACECAR_ variable with nothing close to suggest" do
    expect { assignments("RACECAR_ZZZZQQQQ" => "1") }
      .to raise_error(Racecar::ConfigError, "unknown environment variable RACECAR_ZZZZQQQQ: racecar has no setting zzzzqqqq.")
  end
end
