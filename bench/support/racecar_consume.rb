# frozen_string_literal: true

# One racecar consumer measurement, run in its own process by bench/consume
# and bench/produce: runs a Racecar::Runner in this process until COUNT
# messages were processed (and, when producing, delivered), then prints one
# JSON line with the rate from the first message to the last and the peak RSS.
#
#   ruby bench/support/racecar_consume.rb --topic T --count N --group G \
#        [--mode process|process_batch|process_reading|process_batch_reading] \
#        [--instrument none|as_loaded|as_subscriber|racecar_subscriber] \
#        [--produce-to TOPIC] [--brokers HOST:PORT] [--timeout SECONDS]
#   ruby bench/support/racecar_consume.rb --topic T --dump-properties
#
# Settings not given here come from racecar's defaults and RACECAR_* variables,
# exactly as for an application.

require "json"
require "logger"
require "optparse"

options = { mode: "process", instrument: "none", brokers: "127.0.0.1:9092", timeout: 300, count: 0 }
OptionParser.new do |parser|
  parser.on("--topic TOPIC") { |v| options[:topic] = v }
  parser.on("--count N", Integer) { |v| options[:count] = v }
  parser.on("--group GROUP") { |v| options[:group] = v }
  parser.on("--mode MODE", %w[process process_batch process_reading process_batch_reading]) { |v| options[:mode] = v }
  parser.on("--instrument KIND", %w[none as_loaded as_subscriber racecar_subscriber]) { |v| options[:instrument] = v }
  parser.on("--produce-to TOPIC") { |v| options[:produce_to] = v }
  parser.on("--brokers BROKERS") { |v| options[:brokers] = v }
  parser.on("--timeout SECONDS", Integer) { |v| options[:timeout] = v }
  parser.on("--dump-properties") { options[:dump] = true }
end.parse!
abort "--topic is required" unless options[:topic]

# ActiveSupport must be what an application would have: loaded before racecar.
require "active_support/notifications" if options[:instrument].start_with?("as_")
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "racecar"

module Bench
  # Counts what was processed; stops the runner once the target is reached.
  # The subclasses' process methods are what a trivial consumer looks like.
  class CountingConsumer < Racecar::Consumer
    attr_accessor :target, :on_done, :output
    attr_reader :count, :started, :finished

    def initialize
      super
      @count = 0
      @started = nil
      @finished = nil
    end

    def finish
      @finished = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      @on_done.call
    end
  end

  class ProcessConsumer < CountingConsumer
    def process(_message)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      @count += 1
      finish if @count == @target
    end
  end

  class BatchConsumer < CountingConsumer
    def process_batch(messages)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      @count += messages.size
      finish if @count >= @target && @finished.nil?
    end
  end

  # The two above, reading what a real consumer reads: value and key
  # Strings are only made when asked for, so these show their cost.
  class ReadingProcessConsumer < CountingConsumer
    def process(message)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      message.value
      message.key
      @count += 1
      finish if @count == @target
    end
  end

  class ReadingBatchConsumer < CountingConsumer
    def process_batch(messages)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      messages.each do |message|
        message.value
        message.key
      end
      @count += messages.size
      finish if @count >= @target && @finished.nil?
    end
  end

  # Produces one message per message processed; done once the target was
  # both processed and delivered (the runner calls deliver! after each call
  # and before storing offsets).
  class ProducingConsumer < CountingConsumer
    def process(message)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      produce(message.value, topic: @output)
      @count += 1
    end

    def deliver!
      super
      finish if @count >= @target && @finished.nil?
    end
  end

  class ProducingBatchConsumer < CountingConsumer
    def process_batch(messages)
      @started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
      messages.each { |message| produce(message.value, topic: @output) }
      @count += messages.size
    end

    def deliver!
      super
      finish if @count >= @target && @finished.nil?
    end
  end
end

klass = if options[:produce_to]
          options[:mode] == "process" ? Bench::ProducingConsumer : Bench::ProducingBatchConsumer
        else
          {
            "process" => Bench::ProcessConsumer, "process_batch" => Bench::BatchConsumer,
            "process_reading" => Bench::ReadingProcessConsumer, "process_batch_reading" => Bench::ReadingBatchConsumer
          }.fetch(options[:mode])
        end
klass.subscribes_to(options[:topic])
klass.group_id = options[:group] || "bench-dump"

config = Racecar.config
config.brokers = [options[:brokers]]
config.logger = Logger.new($stderr, level: Logger::INFO)

if options[:dump]
  config.load_consumer_class(klass)
  puts JSON.generate(properties: config.rdkafka_consumer, fetch_messages: config.fetch_messages,
                     max_wait_time: config.max_wait_time)
  exit
end

events = 0
case options[:instrument]
when "as_subscriber"
  ActiveSupport::Notifications.subscribe("process_message.racecar") { |_name, _start, _finish, _id, _payload| events += 1 }
when "racecar_subscriber"
  Racecar.instrumenter.subscribe("process_message") { |_name, _payload, _duration| events += 1 }
end

consumer = klass.new
consumer.target = options[:count]
consumer.output = options[:produce_to]
runner = Racecar.runner(consumer)
consumer.on_done = -> { runner.stop }
timed_out = false
watchdog = Thread.new do
  sleep options[:timeout]
  timed_out = true
  runner.stop
end
runner.run
watchdog.kill

peak_rss_kb = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1].to_i
seconds = consumer.finished && consumer.started ? consumer.finished - consumer.started : 0.0
puts JSON.generate(messages: consumer.count, seconds: seconds, rate: seconds.positive? ? consumer.count / seconds : 0.0,
                   peak_rss_kb: peak_rss_kb, events: events)
if timed_out || consumer.count < options[:count]
  warn "only #{consumer.count} of #{options[:count]} messages within #{options[:timeout]}s"
  exit 1
end
