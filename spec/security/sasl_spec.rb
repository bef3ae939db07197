# frozen_string_literal: true

require_relative "../support/security"

# The broker's SASL_PLAINTEXT listener with a PLAIN user and a SCRAM-SHA-256
# user (bin/kafka). Right credentials: a consumer and a producer work. Wrong
# ones: nothing is sent or received, produce_sync raises MessageDeliveryError
# once message_timeout passes, and the log says the authentication failed.
RSpec.describe "SASL authentication", :kafka do
  include SecurityHelpers

  MECHANISMS = {
    "PLAIN" => [SecurityHelpers::PLAIN_USER, /SASL authentication error: Authentication failed: Invalid username or password/],
    "SCRAM-SHA-256" => [SecurityHelpers::SCRAM_USER,
                        /SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256/],
  }.freeze

  MECHANISMS.each do |mechanism, ((username, password), failure)|
    describe mechanism do
      it "produces and consumes with the right credentials" do
        topic = create_topic
        config = -> { sasl_config(mechanism: mechanism, username: username, password: password) }
        isolated_producer(config.call).produce_sync(value: "authenticated", topic: topic)
        seen = []
        start_consumer(recording_consumer(topic, seen).new, config: config.call)

        eventually(message: "the message over SASL") { seen == ["authenticated"] }
        expect(log.string).not_to match(/authentication failed/i)
      end

      it "fails produce_sync with a wrong password after message_timeout, logging the failed authentication" do
        topic = create_topic
        producer = isolated_producer(sasl_config(mechanism: mechanism, username: username, password: "wrong-#{password}",
                                                 message_timeout: 3))

        expect { producer.produce_sync(value: "never", topic: topic) }
          .to raise_error(Racecar::MessageDeliveryError) { |error|
            expect(error.code).to eq(:msg_timed_out)
            expect(error.message).to match(/last error from the brokers: .*#{failure}/)
          }
        expect(log_lines.grep(/ERROR.*#{failure}/)).not_to be_empty
      end

      it "keeps a consumer with a wrong password running, logging the failed authentication, consuming nothing" do
        topic = create_topic
        produce_messages(topic, [{ value: "unreadable" }])
        seen = []
        config = sasl_config(mechanism: mechanism, username: username, password: "wrong-#{password}")
        running = start_consumer(recording_consumer(topic, seen).new, config: config)

        eventually(message: "the authentication failure in the log") { log.string.match?(failure) }
        sleep 2
        expect(running).to be_alive
        expect(seen).to be_empty
        expect(running.stop).to be < 5
      end
    end
  end

  it "fails an unknown user like a wrong password" do
    producer = isolated_producer(sasl_config(mechanism: "SCRAM-SHA-256", username: "nobody", password: "x",
                                             message_timeout: 3))

    expect { producer.produce_sync(value: "never", topic: create_topic) }.to raise_error(Racecar::MessageDeliveryError)
    expect(log.string).to include("Authentication failed during authentication due to invalid credentials")
  end
end
