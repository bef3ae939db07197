# frozen_string_literal: true

require "tempfile"
require_relative "../racecar"

module Racecar
  # Configuration from the variables Heroku's Kafka add-on sets, loaded by
  # `require "racecar/heroku"` as in upstream Racecar:
  #
  #   KAFKA_URL              kafka+ssl://host1:9096,kafka+ssl://host2:9096
  #   KAFKA_TRUSTED_CERT     PEM of the CA that signed the brokers' certificates
  #   KAFKA_CLIENT_CERT      PEM of this app's client certificate
  #   KAFKA_CLIENT_CERT_KEY  PEM of that certificate's private key
  #   KAFKA_PREFIX           (multi-tenant plans only) prefix for group ids
  #
  # A missing variable stops the process with upstream's
  # "Error: ENV X is not set" (exit 1). An entry of KAFKA_URL without a port
  # is passed on as it is; librdkafka then uses Kafka's default port.
  #
  # librdkafka reads certificates from files, so the PEMs are written to
  # temporary files kept referenced for the life of the process (upstream
  # lets them be garbage collected, deleting the files under librdkafka;
  # forked parallel workers share them, and only the process that created
  # them deletes them).
  #
  # Heroku's broker certificates do not carry the brokers' host names, so
  # host name verification (librdkafka 2.x enables it by default) is turned
  # off with ssl.endpoint.identification.algorithm=none unless the
  # application set that property itself. The chain is still verified
  # against KAFKA_TRUSTED_CERT.
  module Heroku
    DEFAULT_KAFKA_NAME = "KAFKA"
    CERTIFICATES = {
      ssl_ca_location: "TRUSTED_CERT",
      ssl_certificate_location: "CLIENT_CERT",
      ssl_key_location: "CLIENT_CERT_KEY"
    }.freeze
    NO_HOSTNAME_CHECK = "ssl.endpoint.identification.algorithm=none"

    # Raised by configure; `require` and kafka_name= turn it into upstream's
    # message and exit status.
    class MissingVariable < ConfigError
      attr_reader :variable

      def initialize(variable)
        @variable = variable
        super("ENV #{variable} is not set")
      end
    end

    # Tempfiles are deleted when garbage collected: keep them referenced.
    @files = []

    class << self
      attr_reader :files

      # Upstream's way to read an aliased add-on's variables
      # (`Racecar::Heroku.kafka_name = "HEROKU_KAFKA_RED"` reads
      # HEROKU_KAFKA_RED_URL, ...). Exits 1 when one is missing.
      def kafka_name=(kafka_name)
        load_or_exit(kafka_name)
      end

      # What `require "racecar/heroku"` does.
      def load_or_exit(kafka_name = DEFAULT_KAFKA_NAME, config: Racecar.config, env: ENV)
        configure(config, env: env, kafka_name: kafka_name)
      rescue MissingVariable => e
        $stderr.puts("Error: #{e.message}")
        exit(1)
      end

      # Sets brokers, security_protocol (:ssl), the three certificate
      # locations and, on multi-tenant plans, group_id_prefix. Raises
      # MissingVariable naming the first variable that is not set.
      def configure(config = Racecar.config, env: ENV, kafka_name: DEFAULT_KAFKA_NAME)
        url = fetch(env, "#{kafka_name}_URL")
        pems = CERTIFICATES.transform_values { |suffix| fetch(env, "#{kafka_name}_#{suffix}") }
        config.brokers = brokers(url)
        config.security_protocol = :ssl
        pems.each { |key, pem| config.public_send("#{key}=", write_certificate(key, pem)) }
        prefix = env["#{kafka_name}_PREFIX"]
        config.group_id_prefix = prefix if present?(prefix) && config.group_id_prefix.nil?
        disable_hostname_verification(config)
        config
      end

      # "kafka+ssl://a:9096,kafka+ssl://b" -> ["a:9096", "b"]
      def brokers(kafka_url)
        kafka_url.split(",").map { |entry| entry.strip.sub(%r{\A[a-z][a-z0-9+.-]*://}i, "").chomp("/") }
                 .reject(&:empty?)
      end

      private

      def fetch(env, variable)
        value = env[variable]
        raise MissingVariable, variable unless present?(value)

        value
      end

      def present?(value)
        !value.nil? && !value.strip.empty?
      end

      def write_certificate(key, pem)
        file = Tempfile.new(["racecar-#{key.to_s.delete_suffix('_location').tr('_', '-')}-", ".pem"])
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

$stderr.puts("=> Loading configuration from Heroku Kafka ENVs")
Racecar::Heroku.load_or_exit
