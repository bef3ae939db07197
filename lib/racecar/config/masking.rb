# frozen_string_literal: true

module Racecar
  class Config
    # Keeps secrets out of anything a human or a log may see: inspect, to_h,
    # the SIGUSR1 dump and error messages. Values are needed unmasked only by
    # librdkafka, which gets them through rdkafka_consumer / rdkafka_producer.
    module Masking
      FILTERED = "[FILTERED]"

      # Matches racecar keys (sasl_password, ssl_key_password) as well as
      # librdkafka properties (sasl.password, sasl.oauthbearer.client.secret).
      SECRET_NAME = /password|secret/i.freeze

      module_function

      def secret_name?(name)
        SECRET_NAME.match?(name.to_s)
      end

      # ["sasl.password=hunter2", "fetch.wait.max.ms=5"]
      #   -> ["sasl.password=[FILTERED]", "fetch.wait.max.ms=5"]
      def property_list(list)
        Array(list).map { |item| property_item(item) }
      end

      def property_item(item)
        key, separator, = item.to_s.partition("=")
        return scrub(item) if separator.empty?

        secret_name?(key) ? "#{key}=#{FILTERED}" : item
      end

      # A Hash of librdkafka properties with secret values masked, for logging.
      def properties(hash)
        hash.to_h { |key, value| [key, secret_name?(key) ? FILTERED : value] }
      end

      # Best effort for values we could not parse (so we do not know which part
      # is the secret): any text that mentions a password or secret is hidden.
      def scrub(value)
        case value
        when Hash then properties(value).transform_values { |item| scrub(item) }
        when Array then value.map { |item| scrub(item) }
        when String, Symbol then secret_name?(value) ? FILTERED : value
        else value
        end
      end
    end
  end
end
