# frozen_string_literal: true

RSpec.describe Racecar::DeliveryFailure do
  describe ".error_for" do
    it "names the topic, partition, librdkafka's description and code, with the hint for a timeout" do
      error = described_class.error_for([["events", 3, :msg_timed_out, "Local: Message timed out"]])

      expect(error).to be_a(Racecar::MessageDeliveryError)
      expect(error.code).to eq(:msg_timed_out)
      expect(error.topic).to eq("events")
      expect(error.partition).to eq(3)
      expect(error.message).to eq("Failed to deliver a message to events/3: Local: Message timed out (msg_timed_out); " \
                                  "the broker did not acknowledge it within message_timeout; is the broker reachable?")
    end

    {
      msg_size_too_large: /larger than the broker or topic accepts \(message\.max\.bytes\)/,
      unknown_topic_or_part: /topic or partition does not exist; create it first/,
      unknown_partition: /partition does not exist for this topic/,
      topic_authorization_failed: /not authorized to write to the topic/,
    }.each do |code, hint|
      it "gives a hint for #{code}" do
        error = described_class.error_for([["events", 0, code, "description"]])

        expect(error.message).to match(hint)
        expect(error.code).to eq(code)
      end
    end

    it "quotes the brokers' last error when the message timed out, where the real cause is" do
      error = described_class.error_for([["events", 0, :msg_timed_out, "Local: Message timed out"]],
                                        "ssl://b:9094/bootstrap: SSL handshake failed: certificate verify failed")

      expect(error.message).to end_with("is the broker reachable? (last error from the brokers: " \
                                        "ssl://b:9094/bootstrap: SSL handshake failed: certificate verify failed)")
    end

    it "leaves the brokers' last error out of failures that say their own cause" do
      error = described_class.error_for([["events", 0, :msg_size_too_large, "Broker: Message size too large"]],
                                        "b:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused")

      expect(error.message).not_to include("last error")
    end

    it "says how many more messages failed besides the first" do
      failures = [["a", 0, :msg_timed_out, "x"], ["a", 1, :msg_timed_out, "x"], ["b", 0, :unknown_partition, "y"]]

      error = described_class.error_for(failures)

      expect(error.message).to end_with("(and 2 more failed)")
      expect([error.topic, error.partition]).to eq(["a", 0])
    end

    it "reports no partition when librdkafka had not chosen one (-1)" do
      error = described_class.error_for([["events", -1, :msg_timed_out, "Local: Message timed out"]])

      expect(error.partition).to be_nil
      expect(error.message).to start_with("Failed to deliver a message to events: ")
    end

    it "still carries the code when it knows no hint for it" do
      error = described_class.error_for([["events", 0, :invalid_record, "Broker: Invalid record"]])

      expect(error.code).to eq(:invalid_record)
      expect(error.message).to eq("Failed to deliver a message to events/0: Broker: Invalid record (invalid_record)")
    end
  end

  describe ".rejected" do
    it "describes a message librdkafka refused to queue" do
      error = described_class.rejected("events", 9, :unknown_partition, "Local: Unknown partition")

      expect(error.message).to start_with("Could not produce a message to events/9: Local: Unknown partition " \
                                          "(unknown_partition); the partition does not exist")
      expect([error.topic, error.partition, error.code]).to eq(["events", 9, :unknown_partition])
    end
  end

  describe ".not_acknowledged" do
    it "is a timed-out delivery error saying how many messages are still waiting" do
      error = described_class.not_acknowledged(4, 305)

      expect(error.code).to eq(:msg_timed_out)
      expect(error.message).to start_with("4 message(s) were not acknowledged within 305s")
    end
  end
end
