# frozen_string_literal: true

require_relative "datadog/statsd_client"
require_relative "datadog/metrics"
require_relative "datadog/consumer_metrics"
require_relative "datadog/producer_metrics"
require_relative "datadog/subscriber"

module Racecar
  # Datadog metrics for racecar consumers and producers, sent to a DogStatsD
  # agent. Loaded only when `datadog_enabled` is set; then
  #
  #   Racecar::Datadog.install(config: Racecar.config)
  #
  # subscribes to the instrumenter and returns the Racecar::Datadog::Subscriber
  # (call #close on it to stop).
  module Datadog
    DEFAULT_NAMESPACE = "racecar"

    # instrumenter => [subscriber, installed by install_once?]: lets
    # install_once and install avoid sending every metric twice.
    @installed = {}.compare_by_identity
    @installed_lock = Mutex.new

    # config: anything with datadog_host, datadog_port, datadog_socket_path,
    # datadog_namespace, datadog_tags (and optionally logger).
    # instrumenter: defaults to Racecar.instrumenter. A subscriber that
    # install_once put on the same instrumenter is replaced.
    def self.install(config:, instrumenter: nil, env: ENV, logger: nil)
      instrumenter ||= Racecar.instrumenter
      subscriber = build_subscriber(config, instrumenter, env, logger)
      previous = @installed_lock.synchronize do
        automatic, = @installed[instrumenter] if @installed.dig(instrumenter, 1)
        @installed[instrumenter] = [subscriber, false]
        automatic
      end
      previous&.close
      subscriber.subscribe
    end

    # Racecar.producer calls this when datadog_enabled is set, as upstream's
    # does, so a process that only produces (a web app) sends metrics too.
    # Does nothing while a subscriber serves the instrumenter already.
    def self.install_once(config:, instrumenter:, env: ENV)
      @installed_lock.synchronize do
        current, = @installed[instrumenter]
        return current if current&.subscribed?

        subscriber = build_subscriber(config, instrumenter, env, nil)
        @installed[instrumenter] = [subscriber, true]
        subscriber.subscribe
      end
    end

    def self.build_subscriber(config, instrumenter, env, logger)
      logger ||= config.logger if config.respond_to?(:logger)
      Subscriber.new(client: build_client(config: config, env: env), instrumenter: instrumenter, logger: logger)
    end
    private_class_method :build_subscriber

    # The agent's address comes from the config; without one, from the variables
    # the Datadog agent's own documentation tells applications to read.
    def self.build_client(config:, env: ENV)
      namespace = config.datadog_namespace.nil? ? DEFAULT_NAMESPACE : config.datadog_namespace
      common = { namespace: namespace, tags: config.datadog_tags }

      if present?(config.datadog_socket_path)
        StatsdClient.new(socket_path: config.datadog_socket_path, **common)
      elsif present?(config.datadog_host) || present?(config.datadog_port) || !present?(env["DD_DOGSTATSD_SOCKET"])
        StatsdClient.new(host: presence(config.datadog_host) || env["DD_AGENT_HOST"],
                         port: presence(config.datadog_port) || env["DD_DOGSTATSD_PORT"], **common)
      else
        StatsdClient.new(socket_path: env["DD_DOGSTATSD_SOCKET"], **common)
      end
    end

    def self.present?(value)
      !value.nil? && !value.to_s.empty?
    end
    private_class_method :present?

    def self.presence(value)
      present?(value) ? value : nil
    end
    private_class_method :presence
  end
end
