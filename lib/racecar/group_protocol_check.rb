# frozen_string_literal: true

require_relative "errors"

module Racecar
  # `group.protocol=consumer` in the `consumer` list asks librdkafka for the
  # consumer group protocol of KIP-848, where the broker assigns partitions.
  # racecar refuses it at start, before any client exists, with a ConfigError
  # that says why, because neither way it can go does what the user wants:
  #
  # - librdkafka before 2.4.0 (Debian 12 has 2.0.2) has no such property and
  #   would only say "No such configuration property".
  # - With librdkafka 2.8.0 (Debian 13) against Kafka 4.4.0 a racecar
  #   consumer does start, but once the broker moves some of its partitions
  #   to a member that joined, it stops receiving messages from the
  #   partitions it kept (kcat on the same library does not), and librdkafka
  #   2.8 itself calls the protocol early access, not for production. Against
  #   Kafka 3.x the consumer dies at once with "ConsumerGroupHeartbeat fatal
  #   error: API version not supported".
  #
  # Wiring: Runner#run calls GroupProtocolCheck.check!(properties) on the
  # librdkafka properties it is about to build the native consumer from.
  module GroupProtocolCheck
    # librdkafka added group.protocol (as early access) in 2.4.0.
    FIRST_LIBRDKAFKA = "2.4.0"

    module_function

    def consumer_protocol?(properties)
      properties["group.protocol"].to_s.strip.casecmp?("consumer")
    end

    def check!(properties, librdkafka_version: Native.librdkafka_version)
      return unless consumer_protocol?(properties)

      raise ConfigError, "#{reason(librdkafka_version)} Remove group.protocol=consumer from the consumer " \
                         "settings: the classic protocol (the default) is the one racecar supports."
    end

    def reason(librdkafka_version)
      if Gem::Version.new(librdkafka_version) < Gem::Version.new(FIRST_LIBRDKAFKA)
        "group.protocol=consumer (KIP-848, the consumer group protocol) needs librdkafka #{FIRST_LIBRDKAFKA} " \
          "or later, and this process loaded librdkafka #{librdkafka_version}."
      else
        "racecar does not support group.protocol=consumer (KIP-848, the consumer group protocol) yet: with " \
          "librdkafka 2.8.0 and Kafka 4.4.0 a racecar consumer stopped receiving messages from the partitions " \
          "it kept when the broker moved others to a new member (this process loaded librdkafka " \
          "#{librdkafka_version})."
      end
    end
  end
end
