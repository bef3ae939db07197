# frozen_string_literal: true

# One standalone-producer measurement, run in its own process by
# bench/produce: Racecar.produce_async COUNT times with a SIZE-byte value, then
# waits for all of them, and prints one JSON line (rate from the first produce
# to the end of the wait, peak RSS).
#
#   ruby bench/support/racecar_produce.rb --topic T --count N [--size BYTES] \
#        [--wait wait_for_delivery|close] [--brokers HOST:PORT] [--timeout SECONDS]
#   ruby bench/support/racecar_produce.rb --topic T --dump-properties
#
# --wait wait_for_delivery: the produce_async calls run inside
#   Racecar.wait_for_delivery { }, which tracks each message and raises if any
#   failed (the documented way to wait for async messages).
# --wait close: untracked produce_async calls, then Racecar.producer.close,
#   which flushes the queue (what happens at process exit).

require "json"
require "logger"
require "optparse"

options = { size: 100, wait: "wait_for_delivery", brokers: "127.0.0.1:9092", timeout: 300, count: 0 }
OptionParser.new do |parser|
  parser.on("--topic TOPIC") { |v| options[:topic] = v }
  parser.on("--count N", Integer) { |v| options[:count] = v }
  parser.on("--size BYTES", Integer) { |v| options[:size] = v }
  parser.on("--wait HOW", %w[wait_for_delivery close]) { |v| options[:wait] = v }
  parser.on("--brokers BROKERS") { |v| options[:brokers] = v }
  parser.on("--timeout SECONDS", Integer) { |v| options[:timeout] = v }
  parser.on("--dump-properties") { options[:dump] = true }
end.parse!
abort "--topic is required" unless options[:topic]

$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "racecar"

config = Racecar.config
config.brokers = [options[:brokers]]
config.logger = Logger.new($stderr, level: Logger::INFO)

if options[:dump]
  puts JSON.generate(config.rdkafka_producer)
  exit
end

topic = options[:topic]
count = options[:count]
value = ("a".."z").cycle.first(options[:size]).join.freeze
watchdog = Thread.new(Thread.current) do |main|
  sleep options[:timeout]
  main.raise(Timeout::Error, "not done within #{options[:timeout]}s") if main.alive?
end

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
if options[:wait] == "wait_for_delivery"
  Racecar.wait_for_delivery do
    count.times { Racecar.produce_async(value: value, topic: topic) }
  end
else
  count.times { Racecar.produce_async(value: value, topic: topic) }
  Racecar.producer.close
end
seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
watchdog.kill

peak_rss_kb = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1].to_i
puts JSON.generate(messages: count, seconds: seconds, rate: count / seconds, peak_rss_kb: peak_rss_kb)
