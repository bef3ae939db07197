# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::Masking do
  it "treats names mentioning a password or a secret as secret" do
    names = %w[sasl_password ssl.key.password sasl.oauthbearer.client.secret SASL.PASSWORD client.id]
    expect(names.map { |name| described_class.secret_name?(name) }).to eq([true, true, true, true, false])
  end

  it "masks the values of secret properties in a key=value list" do
    expect(described_class.property_list(["ssl.keystore.password=abc", "fetch.min.bytes=1"]))
      .to eq(["ssl.keystore.password=[FILTERED]", "fetch.min.bytes=1"])
  end

  it "masks the values of secret properties in a Hash, for logging librdkafka configs" do
    expect(described_class.properties("sasl.password" => "abc", "client.id" => "me"))
      .to eq("sasl.password" => "[FILTERED]", "client.id" => "me")
  end

  it "hides unparsed text that mentions a password" do
    expect(described_class.scrub(["sasl.password hunter2", "ok"])).to eq(["[FILTERED]", "ok"])
  end
end
