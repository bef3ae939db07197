# frozen_string_literal: true

require "tempfile"
require "uri"
require_relative "../racecar"

module Racecar
  # Configuration from the variables Heroku's Kafka add-on sets:
  #
  #   KAFKA_URL              kafka+ssl://host1:9096,kafka+ssl://host2:9096
  #   KAFKA_TRUSTED_CERT     PEM of the CA that signed the brokers' certificates
  #   KAFKA_CLIENT_CERT      PEM of this app's client certificate
  #   KAFKA_CLIENT_CERT_KEY  PEM of that certificate's private key
  #   KAFKA_PREFIX           (multi-tenant plans only) prefix for group ids
  #
  # librdkafka reads certificates from files, so the PEMs are written to
  # temporary files that live as long as the process (forked parallel
  # workers share them; only the process that created them deletes them).
  #
  # Heroku's broker certificates do not carry the brokers' host names, so
  # host name verification (librdkafka 2.x enables it by default) is turned
  # off with ssl.endpoint.identification.algorithm=none unless the
  # application set that property itself. The chain is still verified
  # against KAFKA_TRUSTED_CERT.
  module Heroku
    CERTIFICATES = {
      ssl_ca_location: "KAFKA_TRUSTED_CERT",
      ssl_certificate_location: "KAFKA_CLIENT_CERT",
      ssl_key_location: "KAFKA_CLIENT_CERT_KEY"
    }.freeze
    NO_HOSTNAME_CHECK = "ssl.endpoint.identification.algorithm=none"

    # Tempfiles are deleted when garbage collected: keep them referenced.
    @files = []

    class << self
      attr_reader :files

      def configure(config = Racecar.config, env: ENV)
        config.brokers = brokers(fetch(env, "KAFKA_URL"))
        config.security_protocol = "ssl" if ssl?(fetch(env, "KAFKA_URL"))
        CERTIFICATES.each do |key, variable|
          config.public_send("#{key}=", write_certificate(variable, fetch(env, variable)))
        end
        config.group_id_prefix = env["KAFKA_PREFIX"] if present?(env["KAFKA_PREFIX"])
        disable_hostname_verification(config)
        config
      end

      # "kafka+ssl://a:9096,kafka+ssl://b:9096" -> ["a:9096", "b:9096"]
      def brokers(kafka_url)
        kafka_url.split(",").map(&:strip).reject(&:empty?).map do |url|
          uri = URI.parse(url)
          raise ConfigError, "KAFKA_URL entry #{url.inspect} has no host and port" unless uri.host && uri.port

          "#{uri.host}:#{uri.port}"
        rescue URI::InvalidURIError => e
          raise ConfigError, "KAFKA_URL entry #{url.inspect} is not a URL: #{e.message}"
        end
      end

      private

      def ssl?(kafka_url)
        kafka_url.split(",").any? { |url| url.strip.start_with?("kafka+ssl://") }
      end

      def fetch(env, variable)
        value = env[variable]
        return value if present?(value)

        raise ConfigError, "#{variable} is not set: racecar/heroku needs KAFKA_URL, KAFKA_TRUSTED_CERT, " \
                           "KAFKA_CLIENT_CERT and KAFKA_CLIENT_CERT_KEY (set by Heroku's Kafka add-on)"
      end

      def present?(value)
        !value.nil? && !value.strip.empty?
      end

      def write_certificate(variable, pem)
        file = Tempfile.new(["racecar-#{variable.downcase.tr('_', '-')}", ".pem"])
        file.chmod(0o600)
        file.write(pem)
        file.flush
        file.close # closed but not unlinked: the path stays valid
        @files << file
        file.path
      end

      def disable_hostname_verification(config)
        %i[consumer producer].each do |key|
          list = Array(config.public_send(key))
          next if list.any? { |item| item.to_s.start_with?("ssl.endpoint.identification.algorithm=") }

          config.public_send("#{key}=", list + [NO_HOSTNAME_CHECK])
        end
      end
    end
  end
end

Racecar::Heroku.configure(Racecar.config)
