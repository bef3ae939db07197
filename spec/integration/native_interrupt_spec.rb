# frozen_string_literal: true

# A poll blocked on an empty topic releases the GVL and wakes up for Ruby's
# interrupts: Thread#kill, signals and Runner#stop. Each poll may wait 60 s, so
# the bounds below (a few seconds, room for a loaded machine) tell an
# interrupted poll from one that ran out its timeout.
RSpec.describe "Interrupting a blocked poll", :kafka do
  let(:promptly) { 5 }
  let(:topic) { create_topic(partitions: 1) }
  let(:consumer) do
    Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("interrupt"))
  end

  after { consumer.close }

  def start_polling
    consumer.subscribe([topic])
    started = Queue.new
    thread = Thread.new do
      started << true
      consumer.poll_batch(100, 60_000) while true # rubocop:disable Style/InfiniteLoop
    end
    started.pop
    await_blocked_in_poll(thread)
    thread
  end

  # A thread inside poll_batch without the GVL shows as sleeping with
  # poll_batch as its innermost frame: the poll is blocked in librdkafka.
  def await_blocked_in_poll(thread)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    until thread.status == "sleep" && thread.backtrace&.first.to_s.include?("poll_batch")
      raise "the polling thread never blocked in poll_batch: #{thread.backtrace&.first(3)}" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      Thread.pass
    end
  end

  it "lets other Ruby threads run while it waits" do
    thread = start_polling
    ticks = 0
    ticker = Thread.new { 20.times { ticks += 1; sleep 0.01 } }
    ticker.join(2)
    expect(ticks).to eq(20)
  ensure
    thread&.kill&.join
  end

  it "stops promptly on Thread#kill" do
    thread = start_polling
    expect(thread).to be_alive
    killed_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    thread.kill
    expect(thread.join(30)).not_to be_nil
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - killed_at).to be < promptly
  end

  it "stops promptly on Thread#raise, with the exception" do
    thread = start_polling
    thread.report_on_exception = false
    raised_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    thread.raise(Interrupt)
    expect { thread.join(30) }.to raise_error(Interrupt)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - raised_at).to be < promptly
  end

  it "runs a signal trap while the main thread is blocked in a long poll, and the trap can stop it" do
    consumer.subscribe([topic])
    trapped_at = nil
    previous = Signal.trap("USR2") do
      trapped_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      consumer.stop
    end
    signalled_at = nil
    poller = Thread.current
    signaller = Thread.new do
      await_blocked_in_poll(poller)
      signalled_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      Process.kill("USR2", Process.pid)
    end
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(consumer.poll_batch(100, 60_000)).to eq([])
    returned_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(returned_at - started).to be < promptly * 2
    expect(trapped_at - signalled_at).to be < promptly
  ensure
    signaller&.join
    Signal.trap("USR2", previous || "DEFAULT")
  end
end
