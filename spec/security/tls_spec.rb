# frozen_string_literal: true

require_relative "../support/security"

# The broker's SSL listener (bin/kafka: a CA made with openssl at first start,
# a server certificate for localhost / 127.0.0.1). With the right CA a
# consumer and a producer work over TLS; with another CA nothing is sent or
# received, and the user is told why: produce_sync raises
# MessageDeliveryError once message_timeout passes, and the log (of the
# producer and of a running consumer) says "certificate verify failed".
RSpec.describe "TLS to the broker", :kafka do
  include SecurityHelpers

  it "produces and consumes over SSL with ssl_ca_location" do
    topic = create_topic
    isolated_producer(ssl_config).produce_sync(value: "over tls", topic: topic)
    seen = []
    start_consumer(recording_consumer(topic, seen).new, config: ssl_config)

    eventually(message: "the message over TLS") { seen == ["over tls"] }
    expect(log.string).not_to include("certificate verify failed")
  end

  it "produces over SSL with a client certificate as well" do
    topic = create_topic
    config = ssl_config(ssl_certificate_location: File.join(SecurityHelpers::CERTS, "client.pem"),
                        ssl_key_location: File.join(SecurityHelpers::CERTS, "client.key"))
    isolated_producer(config).produce_sync(value: "with a client certificate", topic: topic)

    seen = []
    start_consumer(recording_consumer(topic, seen).new)
    eventually(message: "the message") { seen == ["with a client certificate"] }
  end

  describe "with a CA that did not sign the broker's certificate" do
    it "raises MessageDeliveryError from produce_sync after message_timeout, logging why" do
      topic = create_topic
      producer = isolated_producer(ssl_config(ca: SecurityHelpers::WRONG_CA, message_timeout: 3))

      expect { producer.produce_sync(value: "never", topic: topic) }
        .to raise_error(Racecar::MessageDeliveryError) { |error|
          expect(error.code).to eq(:msg_timed_out)
          expect(error.message).to include("is the broker reachable?")
          expect(error.message).to match(/last error from the brokers: .*certificate verify failed/)
        }
      expect(log_lines.grep(%r{(ERROR|WARN).*ssl://127\.0\.0\.1:\d+/bootstrap: .*certificate verify failed})).not_to be_empty
      # Nothing reached the topic: over plaintext, a marker is all there is.
      produce_messages(topic, [{ value: "marker" }])
      seen = []
      start_consumer(recording_consumer(topic, seen).new)
      eventually(message: "the marker") { seen.include?("marker") }
      expect(seen).to eq(["marker"])
    end

    it "keeps a consumer running, logging certificate verify failed, without consuming anything" do
      topic = create_topic
      produce_messages(topic, [{ value: "unreadable" }])
      seen = []
      running = start_consumer(recording_consumer(topic, seen).new, config: ssl_config(ca: SecurityHelpers::WRONG_CA))

      eventually(message: "the verification error in the log") { log.string.include?("certificate verify failed") }
      sleep 2
      expect(running).to be_alive
      expect(seen).to be_empty
      expect(log_lines.grep(%r{(ERROR|WARN).*ssl://127\.0\.0\.1:\d+/bootstrap: .*certificate verify failed})).not_to be_empty
      expect(running.stop).to be < 5
    end
  end
end
