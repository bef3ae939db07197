# frozen_string_literal: true

require "rbconfig"
require_relative "kafka"

# The line that opens and closes a spec run, so a CI log says which leg it is
# (Ruby, librdkafka, broker) without anyone reading the set-up steps:
#   racecar specs: ruby 3.1.2, librdkafka 2.0.2, Kafka 3.9.1 broker at 127.0.0.1:9092, leg=local
module RunBanner
  module_function

  def line(env = ENV)
    "racecar specs: ruby #{RUBY_VERSION}, librdkafka #{Racecar::Native.librdkafka_version}, " \
      "Kafka #{broker_version(env)} broker at #{KafkaHelpers::BROKERS}, leg=#{leg(env)}"
  end

  # .ci/run and .ci/trixie-leg name the leg in CI_LEG (not RACECAR_*, which
  # racecar reads as settings); RACECAR_CI_LEG is still honoured.
  def leg(env = ENV)
    env["CI_LEG"] || env["RACECAR_CI_LEG"] || "local"
  end

  # The version of the broker bin/kafka runs from KAFKA_DIR, read from the
  # kafka_2.13-<version>.jar on its classpath; $KAFKA_VERSION when that broker
  # is not one we can see (another host, a broker not started by bin/kafka,
  # the trixie leg's PID namespace, where .ci/run passes $KAFKA_BROKER_VERSION).
  def broker_version(env = ENV)
    from_running_broker || from_version_file || env["KAFKA_BROKER_VERSION"] || env["KAFKA_VERSION"] ||
      "(version unknown)"
  end

  # bin/kafka writes the version it starts into KAFKA_DIR/kafka-version: what
  # a process that cannot see the broker's (the trixie leg) can still read.
  def from_version_file
    version = File.read(File.join(KafkaHelpers::KAFKA_DIR, "kafka-version")).strip
    version.match?(/\A\d+\.\d+\.\d+\z/) ? version : nil
  rescue SystemCallError
    nil
  end

  def from_running_broker
    pid = Integer(File.read(File.join(KafkaHelpers::KAFKA_DIR, "kafka.pid")).strip)
    argv = File.read("/proc/#{pid}/cmdline").split("\0")
    classpath = argv[argv.index("-cp") + 1]
    jars = classpath.split(":").flat_map { |entry| Dir[entry.end_with?("*") ? "#{entry}.jar" : entry] }
    jars.filter_map { |jar| File.basename(jar)[/\Akafka_[\d.]+-(\d[\w.-]*)\.jar\z/, 1] }.first
  rescue SystemCallError, ArgumentError, TypeError, NoMethodError
    nil
  end
end
