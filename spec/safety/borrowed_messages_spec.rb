# frozen_string_literal: true

require_relative "../support/collection"
require_relative "../support/compaction"

# The runner's messages borrow librdkafka's messages instead of copying their
# bytes and headers (ext/racecar_native/message_block.c). However a borrowing
# block ends -- collected with its messages, copied out because too many are
# kept, copied out because its consumer closed or was collected without close
# -- what its messages read must be what was sent. Under bin/memcheck these
# examples also show that no librdkafka message is read after it was freed.
RSpec.describe "Messages borrowing librdkafka's memory", :kafka do
  # More partition runs (one message each) than the 64 borrowing blocks a
  # consumer keeps before it copies the oldest out.
  BORROWED_COUNT = 100
  MAX_BORROWING_BLOCKS = 64

  before(:context) do
    @topic = create_topic
    @sent = (0...BORROWED_COUNT).map do |i|
      {
        value: i % 5 == 0 ? nil : "value-#{i}-" * ((i % 7) + 1),
        key: i % 3 == 0 ? nil : "key-#{i}",
        headers: i % 4 == 0 ? nil : { "index" => i.to_s, "binary" => "\x00\xFF".b, "none" => nil },
      }
    end
    produce_messages(@topic, @sent)
  end

  def as_sent
    @sent.map { |m| [m[:key], m[:value], m[:headers] || {}] }
  end

  def read(messages)
    messages.map { |m| [m.key, m.value, m.headers] }
  end

  # Runs a native consumer until every message was handed to process_batch
  # (one per call), keeping them all; on_call sees them after each call. A
  # plain class, not singleton methods: Ruby's global call cache keeps a
  # singleton method's closure, and with it the consumer, reachable.
  class KeepEverything
    attr_reader :kept

    def initialize(consumer, count, on_call)
      @consumer = consumer
      @count = count
      @on_call = on_call
      @kept = []
      @deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
    end

    def process_batch(messages)
      @kept.concat(messages)
      @on_call&.call(@kept)
    end

    def deliver; end

    def handle_events(_events); end

    def handle_failure(exception, *)
      raise exception
    end

    # The deadline is checked by the loop itself: a Timeout thread would also
    # keep the consumer reachable for a while.
    def after_loop(_count)
      @consumer.stop if @kept.size >= @count || Process.clock_gettime(Process::CLOCK_MONOTONIC) > @deadline
    end
  end

  def consume_all(consumer, on_call: nil)
    keeper = KeepEverything.new(consumer, BORROWED_COUNT, on_call)
    consumer.dispatch_to(keeper, :process_batch)
    consumer.run(keeper, 1, 0.2, true)
    raise "only #{keeper.kept.size} of #{BORROWED_COUNT} messages arrived within 60 s" if keeper.kept.size < BORROWED_COUNT

    keeper.kept
  end

  def new_consumer
    consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("borrow"),
                                             "auto.offset.reset" => "earliest")
    consumer.subscribe([@topic])
    consumer
  end

  it "copies the oldest kept runs out, and every kept message reads as sent while the consumer runs" do
    consumer = new_consumer
    most_borrowing = 0
    read_while_running = nil
    consume_all(consumer, on_call: lambda do |kept|
      most_borrowing = [most_borrowing, consumer.borrowing_blocks].max
      read_while_running = read(kept) if kept.size == BORROWED_COUNT
    end)

    # The run being processed comes on top of the 64 left after the last trim.
    expect(most_borrowing).to eq(MAX_BORROWING_BLOCKS + 1)
    expect(read_while_running).to eq(as_sent)
  ensure
    consumer&.close
  end

  it "reads as sent after its consumer closed, through compaction" do
    consumer = new_consumer
    kept = consume_all(consumer)
    expect(consumer.borrowing_blocks).to be > 0
    consumer.close
    expect(consumer.borrowing_blocks).to eq(0)
    GC.start
    Compaction.verify_references!

    expect(read(kept)).to eq(as_sent)
  end

  it "reads as sent after its consumer was collected without close" do
    kept = nil
    freed = freed_by_gc? do
      consumer = new_consumer
      kept = consume_all(consumer)
      consumer
    end
    expect(freed).to be(true)

    expect(read(kept)).to eq(as_sent)
  end

  it "reads as sent under GC.stress while its messages still borrow" do
    consumer = new_consumer
    kept = consume_all(consumer)
    GC.stress = true
    values = read(kept)
    GC.stress = false

    expect(values).to eq(as_sent)
  ensure
    GC.stress = false
    consumer&.close
  end
end
