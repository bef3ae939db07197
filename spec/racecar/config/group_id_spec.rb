# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::GroupId do
  {
    "BaconConsumer" => "bacon-consumer",
    "Foo::BarConsumer" => "foo-bar-consumer",
    "HTTPEventsConsumer" => "http-events-consumer",
    "Events2Consumer" => "events2-consumer",
    "Legacy_Consumer" => "legacy-consumer"
  }.each do |class_name, group_id|
    it "derives #{group_id} from #{class_name}" do
      expect(described_class.derive(class_name)).to eq(group_id)
    end
  end

  it "puts the prefix in front as given" do
    expect(described_class.derive("BaconConsumer", "kevin.")).to eq("kevin.bacon-consumer")
  end
end
