# frozen_string_literal: true

module Racecar
  class Config
    # Turns a Config into the librdkafka property Hashes the native consumer
    # and producer are built from. Keys and values are Strings because that
    # is all rd_kafka_conf_set takes; durations become integer milliseconds.
    class RdkafkaProperties
      SECURITY = {
        security_protocol: "security.protocol",
        ssl_ca_location: "ssl.ca.location",
        ssl_crl_location: "ssl.crl.location",
        ssl_keystore_location: "ssl.keystore.location",
        ssl_keystore_password: "ssl.keystore.password",
        ssl_certificate_location: "ssl.certificate.location",
        ssl_key_location: "ssl.key.location",
        ssl_key_password: "ssl.key.password",
        sasl_mechanism: "sasl.mechanisms",
        sasl_username: "sasl.username",
        sasl_password: "sasl.password",
        sasl_kerberos_service_name: "sasl.kerberos.service.name",
        sasl_kerberos_principal: "sasl.kerberos.principal",
        sasl_kerberos_kinit_cmd: "sasl.kerberos.kinit.cmd",
        sasl_kerberos_keytab: "sasl.kerberos.keytab",
        sasl_kerberos_min_time_before_relogin: "sasl.kerberos.min.time.before.relogin"
      }.freeze

      def self.milliseconds(seconds)
        (seconds * 1000).round
      end

      def initialize(config)
        @config = config
      end

      # Later entries win: racecar's keys, then the `consumer` list, then each
      # subscription's additional_config in subscription order.
      def consumer
        properties = common.merge(
          "group.id" => @config.group_id,
          "enable.auto.commit" => true,
          # Offsets are stored by the runner only after a batch was processed.
          "enable.auto.offset.store" => false,
          "auto.commit.interval.ms" => ms(:offset_commit_interval),
          "session.timeout.ms" => ms(:session_timeout),
          "heartbeat.interval.ms" => ms(:heartbeat_interval),
          "max.poll.interval.ms" => ms(:max_poll_interval),
          "fetch.wait.max.ms" => ms(:max_wait_time),
          "fetch.max.bytes" => @config.max_bytes,
          "queued.min.messages" => @config.min_message_queue_size,
          "fetch.min.bytes" => @config.fetch_min_bytes,
          "partition.assignment.strategy" => @config.partition_assignment_strategy,
          "auto.offset.reset" => auto_offset_reset,
          "max.partition.fetch.bytes" => max_partition_fetch_bytes
        )
        properties.merge!(security, list(@config.consumer))
        @config.subscriptions.each { |subscription| properties.merge!(stringify(subscription.additional_config)) }
        finish(properties)
      end

      def producer
        properties = common.merge(
          "message.timeout.ms" => ms(:message_timeout),
          "partitioner" => @config.partitioner,
          "compression.codec" => @config.producer_compression_codec
        )
        finish(properties.merge!(security, list(@config.producer)))
      end

      private

      def common
        {
          "bootstrap.servers" => @config.brokers.join(","),
          "client.id" => @config.client_id,
          "socket.timeout.ms" => ms(:socket_timeout),
          # librdkafka notices timed-out messages of a down broker only when it
          # next tries to reconnect; its default 10 s backoff let produce_sync
          # run seconds past message_timeout during an outage.
          "reconnect.backoff.max.ms" => "1000"
        }
      end

      def security
        properties = SECURITY.to_h { |name, property| [property, @config.public_send(name)] }
        unless @config.ssl_verify_hostname
          # Upstream's meaning: no verification of the broker certificate at
          # all (enable.ssl.certificate.verification=false), host name included.
          properties["enable.ssl.certificate.verification"] = false
          properties["ssl.endpoint.identification.algorithm"] = "none"
        end
        properties
      end

      # The first subscription decides, as librdkafka has one setting per
      # consumer; with no subscription Subscription's own default (from the
      # beginning) applies.
      def auto_offset_reset
        first = @config.subscriptions.first
        first.nil? || first.start_from_beginning ? "earliest" : "latest"
      end

      def max_partition_fetch_bytes
        @config.subscriptions.filter_map(&:max_bytes_per_partition).max
      end

      def ms(name)
        self.class.milliseconds(@config.public_send(name))
      end

      def list(items)
        items.to_h { |item| item.split("=", 2) }
      end

      def stringify(hash)
        (hash || {}).to_h { |key, value| [key.to_s, value] }
      end

      # Unset optional keys are left to librdkafka's defaults.
      def finish(properties)
        properties.reject { |_, value| value.nil? }.to_h { |key, value| [key, value.to_s] }
      end
    end
  end
end
