# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::GroupId do
  {
    "BaconConsumer" => "bacon-consumer",
    "MyFunnyConsumer" => "my-funny-consumer",
    "Foo::BarConsumer" => "foo::bar-consumer",
    "HTTPEventsConsumer" => "httpevents-consumer",
    "Events2Consumer" => "events2consumer",
    "Legacy_Consumer" => "legacy_consumer"
  }.each do |class_name, group_id|
    it "derives #{group_id} from #{class_name}, as upstream does" do
      expect(described_class.derive(class_name)).to eq(group_id)
    end
  end

  it "puts the prefix in front as given" do
    expect(described_class.derive("BaconConsumer", "kevin.")).to eq("kevin.bacon-consumer")
  end
end
