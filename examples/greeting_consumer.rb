# frozen_string_literal: true

# The example consumer that bin/example runs: prints every greeting it reads
# and, once it has seen EXAMPLE_EXPECT of them, stops itself the way a process
# supervisor would, with SIGTERM (a graceful shutdown: offsets are committed).
class GreetingConsumer < Racecar::Consumer
  subscribes_to ENV.fetch("EXAMPLE_TOPIC", "greetings")

  def initialize
    super
    @expected = Integer(ENV.fetch("EXAMPLE_EXPECT", "0"))
    @seen = 0
  end

  def process(message)
    @seen += 1
    puts "consumed #{message.topic}/#{message.partition}@#{message.offset} " \
         "key=#{message.key.inspect} value=#{message.value.inspect}"
    $stdout.flush
    Process.kill("TERM", Process.pid) if @expected.positive? && @seen >= @expected
  end

  def teardown
    puts "GreetingConsumer processed #{@seen} message(s) and is shutting down"
  end
end
