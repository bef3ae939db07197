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

    # config: anything with datadog_host, datadog_port, datadog_socket_path,
    # datadog_namespace, datadog_tags (and optionally logger).
    # instrumenter: defaults to Racecar.instrumenter.
    def self.install(config:, instrumenter: nil, env: ENV, logger: nil)
      instrumenter ||= Racecar.instrumenter
      logger ||= config.logger if config.respond_to?(:logger)
      client = build_client(config: config, env: env)
      Subscriber.new(client: client, instrumenter: instrumenter, logger: logger).subscribe
    end

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
