# frozen_string_literal: true

module Racecar
  class Config
    # Checks that involve more than one key; single values are checked when
    # they are set. Every problem is reported at once, each naming the keys
    # and values involved, so a user fixes a config in one round.
    module Validator
      CREDENTIAL_MECHANISMS = %w[PLAIN SCRAM-SHA-256 SCRAM-SHA-512].freeze
      SASL_PROTOCOLS = %w[sasl_plaintext sasl_ssl].freeze

      CHECKS = %i[
        brokers socket_timeout heartbeat_interval max_poll_interval max_pause_timeout
        liveness_probe sasl_protocol sasl_credentials assignment_strategy subscriptions
      ].freeze

      module_function

      def problems(config)
        CHECKS.filter_map { |check| send(:"check_#{check}", config) }
      end

      def check_brokers(config)
        "brokers must name at least one broker (host:port), but it is empty" if config.brokers.empty?
      end

      # The broker may hold a fetch for max_wait_time; a shorter socket
      # timeout would tear down healthy connections.
      def check_socket_timeout(config)
        return if config.socket_timeout > config.max_wait_time

        "socket_timeout (#{config.socket_timeout}) must be greater than max_wait_time (#{config.max_wait_time})"
      end

      def check_heartbeat_interval(config)
        return if config.heartbeat_interval < config.session_timeout

        "heartbeat_interval (#{config.heartbeat_interval}) must be less than " \
          "session_timeout (#{config.session_timeout})"
      end

      # librdkafka refuses max.poll.interval.ms below session.timeout.ms.
      def check_max_poll_interval(config)
        return if config.max_poll_interval >= config.session_timeout

        "max_poll_interval (#{config.max_poll_interval}) must not be below " \
          "session_timeout (#{config.session_timeout})"
      end

      # Only with backoff: without it max_pause_timeout is never consulted.
      def check_max_pause_timeout(config)
        return unless config.pause_with_exponential_backoff && config.max_pause_timeout
        return unless config.max_pause_timeout < config.pause_timeout

        "max_pause_timeout (#{config.max_pause_timeout}) must not be below pause_timeout " \
          "(#{config.pause_timeout}) when pause_with_exponential_backoff is true"
      end

      def check_liveness_probe(config)
        return unless config.liveness_probe_enabled && config.liveness_probe_file_path.nil?

        "liveness_probe_file_path must be set when liveness_probe_enabled is true"
      end

      def check_sasl_protocol(config)
        return if config.sasl_mechanism.nil? || SASL_PROTOCOLS.include?(config.security_protocol)

        "sasl_mechanism is #{config.sasl_mechanism} but security_protocol is " \
          "#{config.security_protocol || 'not set (plaintext)'}; SASL needs security_protocol " \
          "#{SASL_PROTOCOLS.join(' or ')}"
      end

      def check_sasl_credentials(config)
        return unless CREDENTIAL_MECHANISMS.include?(config.sasl_mechanism)
        return unless SASL_PROTOCOLS.include?(config.security_protocol)

        missing = %i[sasl_username sasl_password].select { |key| config.public_send(key).nil? }
        return if missing.empty?

        "sasl_username and sasl_password must be set when sasl_mechanism is #{config.sasl_mechanism} " \
          "and security_protocol is #{config.security_protocol} (missing: #{missing.join(', ')})"
      end

      # librdkafka needs every assignor of a group to speak the same protocol.
      def check_assignment_strategy(config)
        strategies = config.partition_assignment_strategy.split(",")
        return unless strategies.include?("cooperative-sticky") && strategies.size > 1

        "partition_assignment_strategy #{config.partition_assignment_strategy.inspect} mixes " \
          "cooperative-sticky with eager assignors (#{(strategies - ['cooperative-sticky']).join(', ')}); " \
          "use cooperative-sticky alone"
      end

      def check_subscriptions(config)
        return if config.consumer_class.nil? || !config.subscriptions.empty?

        "consumer class #{config.consumer_class.name || config.consumer_class.inspect} subscribes to no " \
          "topic; call subscribes_to in it"
      end
    end
  end
end
