# frozen_string_literal: true

module Racecar
  class Config
    # Checks that involve more than one key; single values are checked when
    # they are set. Every problem is reported at once, each naming the keys
    # and values involved, so a user fixes a config in one round. Where
    # upstream Racecar has the same check, its sentence comes first, word for
    # word, since people match on it. What upstream accepts is never a
    # problem here: doubtful combinations it accepts are only warnings.
    module Validator
      CREDENTIAL_MECHANISMS = %w[PLAIN SCRAM-SHA-256 SCRAM-SHA-512].freeze
      SASL_PROTOCOLS = %w[sasl_plaintext sasl_ssl].freeze

      CHECKS = %i[
        brokers socket_timeout max_poll_interval max_pause_timeout
        liveness_probe sasl_credentials assignment_strategy subscriptions
      ].freeze

      WARNINGS = %i[heartbeat_interval sasl_protocol].freeze

      module_function

      def problems(config)
        CHECKS.filter_map { |check| send(:"check_#{check}", config) }
      end

      def warnings(config)
        WARNINGS.filter_map { |check| send(:"check_#{check}", config) }
      end

      def check_brokers(config)
        return unless config.brokers.nil? || config.brokers.empty?

        "`brokers` must not be empty: name at least one broker (host:port)"
      end

      # The broker may hold a fetch for max_wait_time; a shorter socket
      # timeout would tear down healthy connections.
      def check_socket_timeout(config)
        return if config.socket_timeout > config.max_wait_time

        "`socket_timeout` must be longer than `max_wait_time` " \
          "(socket_timeout is #{config.socket_timeout}, max_wait_time is #{config.max_wait_time})"
      end

      # A warning: upstream accepts it, but the group coordinator may drop a
      # member whose heartbeats come no more often than its session timeout.
      def check_heartbeat_interval(config)
        return if config.heartbeat_interval < config.session_timeout

        "heartbeat_interval (#{config.heartbeat_interval}) should be less than " \
          "session_timeout (#{config.session_timeout}), or the group may drop this consumer"
      end

      # librdkafka refuses max.poll.interval.ms below session.timeout.ms.
      def check_max_poll_interval(config)
        return if config.max_poll_interval >= config.session_timeout

        "max_poll_interval (#{config.max_poll_interval}) must not be below " \
          "session_timeout (#{config.session_timeout})"
      end

      # Without backoff max_pause_timeout would never be consulted.
      def check_max_pause_timeout(config)
        return if config.max_pause_timeout.nil? || config.pause_with_exponential_backoff

        "`max_pause_timeout` only makes sense when `pause_with_exponential_backoff` is enabled " \
          "(max_pause_timeout is #{config.max_pause_timeout}, pause_with_exponential_backoff is false)"
      end

      def check_liveness_probe(config)
        return unless config.liveness_probe_enabled && config.liveness_probe_file_path.nil?

        "liveness_probe_file_path must be set when liveness_probe_enabled is true"
      end

      # A warning: librdkafka ignores the SASL keys without a SASL protocol,
      # and upstream accepts such a config (say, SASL set only in production).
      def check_sasl_protocol(config)
        return if config.sasl_mechanism.nil? || SASL_PROTOCOLS.include?(config.security_protocol.to_s)

        "sasl_mechanism is #{config.sasl_mechanism} but security_protocol is " \
          "#{config.security_protocol || 'not set (plaintext)'}, so SASL is not used; SASL needs security_protocol " \
          "#{SASL_PROTOCOLS.join(' or ')}"
      end

      # librdkafka refuses to create the client in this case anyway.
      def check_sasl_credentials(config)
        return unless CREDENTIAL_MECHANISMS.include?(config.sasl_mechanism)
        return unless SASL_PROTOCOLS.include?(config.security_protocol.to_s)

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
