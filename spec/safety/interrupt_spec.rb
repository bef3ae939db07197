# frozen_string_literal: true

require "etc"
require "timeout"

# Thread#kill, Thread#raise and Timeout.timeout land at random moments in a
# producer that is producing and flushing and in a consumer that is polling a
# busy topic, committing synchronously and closing. Whatever they interrupt,
# no message is lost (every one produced is processed by the interrupted
# consumers or, from the group's committed offsets, by a follow-up consumer),
# nothing crashes and the process does not grow. bin/memcheck runs this file
# under valgrind (INTERRUPTS_PER_KIND lowers the count there if needed).
RSpec.describe "Interrupts at random moments", :kafka do
  per_kind = Integer(ENV.fetch("INTERRUPTS_PER_KIND", "200"))
  kinds = %i[kill raise timeout].freeze

  # The exception Thread#raise delivers; never a processing failure.
  interrupt_class = Class.new(StandardError)

  # Every message's value is its number; what was produced and what was
  # processed are one byte per number, allocated up front, so the process
  # does not grow with the bookkeeping and RSS shows the native core alone.
  capacity = 4_000_000

  # Records a message only once its processing is over: an interrupted
  # process proves nothing, and its message must come back.
  recorder = Class.new do
    attr_reader :seen

    def initialize(capacity)
      @seen = "\0".b * capacity
    end

    def process(message)
      number = message.value.to_i
      @seen.setbyte(number, 1)
    end
  end

  # The runner's dispatcher. An interrupt that lands in process reaches
  # handle_failure; it is passed on, so the run ends where it was meant to.
  dispatcher = Class.new do
    def deliver; end

    def handle_failure(exception, _messages, _retries, _pause_seconds)
      raise exception
    end

    def handle_events(_events); end

    def after_loop(_count); end
  end

  define_method(:per_kind) { per_kind }
  define_method(:kinds) { kinds }
  define_method(:interrupt_class) { interrupt_class }
  define_method(:new_recorder) { recorder.new(capacity) }
  define_method(:capacity) { capacity }
  define_method(:new_dispatcher) { dispatcher.new }

  def rss_kb
    File.read("/proc/self/statm").split[1].to_i * (Etc.sysconf(Etc::SC_PAGESIZE) / 1024)
  end

  def settled_rss_kb
    3.times { GC.start }
    rss_kb
  end

  # Runs body in a thread and interrupts it after a random delay with kind
  # (Timeout.timeout wraps the body instead). Returns once the thread ended.
  def interrupted(kind, within:, &body)
    thread = Thread.new do
      if kind == :timeout
        Timeout.timeout(rand * within, &body)
      else
        body.call
      end
    rescue interrupt_class, Timeout::Error
      nil
    end
    unless kind == :timeout
      sleep(rand * within)
      kind == :kill ? thread.kill : thread.raise(interrupt_class)
    end
    ended = begin
      thread.join(30)
    rescue interrupt_class, Timeout::Error
      true # it landed before the thread's own rescue began
    end
    raise "an interrupted thread did not end within 30 s" unless ended
  end

  def new_consumer(group)
    consumer = Racecar::Native::Consumer.new(
      { "bootstrap.servers" => brokers, "group.id" => group, "auto.offset.reset" => "earliest",
        "session.timeout.ms" => "6000", "heartbeat.interval.ms" => "1000" },
      { synchronous_commits: true, commit_interval: 0.005, pause_timeout: 0 }
    )
    consumer.subscribe([@topic])
    consumer
  end

  def new_producer
    Racecar::Native::Producer.new("bootstrap.servers" => brokers, "linger.ms" => "2")
  end

  # A close that an interrupt ended is finished by the next close.
  def close_interrupted(handle, kind)
    interrupted(kind, within: 0.05) { handle.close }
    finisher = Thread.new { handle.close }
    raise "the close an interrupt ended was not finished within 60 s" unless finisher.join(60)

    expect(handle).to be_closed
  end

  before(:context) { @topic = create_topic(partitions: 2) }

  it "loses no message, crashes nowhere and keeps its size" do
    produced = "\0".b * capacity
    numbers = 0
    rss = {}

    # Producing and flushing (await: the delivery thread flushes).
    producer = new_producer
    kinds.each do |kind|
      per_kind.times do |round|
        tracker = Racecar::Native::DeliveryTracker.new
        interrupted(kind, within: 0.01) do
          20.times do
            number = numbers += 1
            producer.produce(@topic, number.to_s, nil, nil, nil, nil, tracker)
            produced.setbyte(number, 1)
          end
          producer.await(tracker, 10)
        end
        next unless (round % 50) == 49

        close_interrupted(producer, kind)
        producer = new_producer
      end
    end
    producer.close
    rss[:after_producing] = settled_rss_kb

    # A busy topic: a producer nobody interrupts keeps adding to it while
    # the consumers are interrupted.
    filling = true
    filler = Thread.new do
      tracker = Racecar::Native::DeliveryTracker.new
      while filling && numbers < capacity - 100
        10.times do
          number = numbers += 1
          spec_producer.produce(@topic, number.to_s, nil, nil, nil, nil, tracker)
          produced.setbyte(number, 1)
        end
        sleep 0.002
      end
      raise "the busy topic's messages were not delivered" unless tracker.wait(60)
    end

    group = unique_name("interrupts")
    recorder = new_recorder
    dispatcher = new_dispatcher
    consumer = new_consumer(group)
    consumer.dispatch_to(recorder, :process)
    rounds = 0
    kinds.each do |kind|
      per_kind.times do |round|
        interrupted(kind, within: 0.03) { consumer.run(dispatcher, 20, 0.02, false) }
        rounds += 1
        rss[:warm] = settled_rss_kb if rounds == 60
        next unless (round % 50) == 49

        close_interrupted(consumer, kind)
        consumer = new_consumer(group)
        consumer.dispatch_to(recorder, :process)
      end
    end
    filling = false
    filler.join
    consumer.close
    rss[:after_consuming] = settled_rss_kb

    # What the group committed was processed: a follow-up member reads the
    # rest, and between them every message was seen.
    seen = recorder.seen
    processed = seen.count("\1")
    missing = (1..numbers).select { |n| produced.getbyte(n) == 1 && seen.getbyte(n).zero? }
    follow_up = new_consumer(group)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
    until missing.empty? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      missing -= follow_up.poll_batch(500, 200).map { |message| message.value.to_i }
    end
    follow_up.close

    warn format("interrupt_spec: %<produced>d messages, %<processed>d processed under interrupts; RSS kB %<rss>p",
                produced: produced.count("\1"), processed: processed, rss: rss)
    expect(missing.first(10)).to eq([])
    expect(processed).to be > per_kind # the consumers did work between the interrupts
    expect(rss[:after_consuming] - rss[:warm]).to be < 10_000
  end

  # Each admin call opens a client and waits for a result event; an
  # interrupt anywhere must neither leak the event nor destroy the client
  # with the GVL held (bin/memcheck counts what leaks).
  it "keeps admin calls whole: every interrupted one is cleaned up, and the next one works" do
    properties = KafkaHelpers.admin_properties
    kinds.each do |kind|
      (per_kind / 4).times do
        name = unique_name("interrupted-admin")
        KafkaHelpers.created_topics << name # whether or not the interrupt let it happen
        interrupted(kind, within: 0.03) { Racecar::Native::Admin.create_topics(properties, [[name, 1, 1]], 10) }
      end
    end

    name = unique_name("after-interrupts")
    KafkaHelpers.created_topics << name
    expect(Racecar::Native::Admin.create_topics(properties, [[name, 1, 1]], 10)).to eq(name => true)
  end

  around do |example|
    reporting = Thread.report_on_exception
    Thread.report_on_exception = false # an interrupt may land before a thread could say so itself
    example.run
  ensure
    Thread.report_on_exception = reporting
  end
end
