# frozen_string_literal: true

# The lifecycle of the native handles: blocking calls that an interrupt can
# end, a close that waits for the calls of other threads and returns at once
# in a forked child, and handles that are destroyed away from the GVL and
# from the GC's sweep. Examples that could crash or hang the process run in a
# forked child, so a failure is reported instead of taking the run down.
RSpec.describe "Native handle lifecycle", :kafka do
  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Runs the block in a forked child; returns [exit status, what it wrote],
  # killing it after timeout seconds.
  def in_child(timeout: 30)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      writer.write(yield.to_s)
      writer.close
      exit!(0)
    rescue Exception => e # rubocop:disable Lint/RescueException
      writer.write("#{e.class}: #{e.message}")
      exit!(1)
    end
    writer.close
    status = nil
    deadline = monotonic + timeout
    until (status = Process.wait2(pid, Process::WNOHANG)&.last) || monotonic > deadline
      sleep 0.05
    end
    unless status
      Process.kill("KILL", pid)
      status = Process.wait2(pid).last
    end
    [status, reader.read]
  ensure
    reader&.close
  end

  def unreachable_consumer
    Racecar::Native::Consumer.new("bootstrap.servers" => "127.0.0.1:1", "group.id" => unique_name("nowhere"),
                                  "socket.connection.setup.timeout.ms" => "60000")
  end

  # Thread#raise into body; how long until the thread ended.
  def seconds_to_interrupt(&body)
    started = Queue.new
    thread = Thread.new do
      started << true
      body.call
    rescue Interrupt
      :interrupted
    end
    started.pop
    sleep 0.3 # inside the blocking call by now
    raised_at = monotonic
    thread.raise(Interrupt)
    thread.join(40)
    monotonic - raised_at
  end

  describe "a blocking call that librdkafka cannot wake" do
    it "ends within 2 seconds of Thread#raise: Consumer#committed" do
      consumer = unreachable_consumer
      expect(seconds_to_interrupt { consumer.committed({ "nowhere" => [0] }, 30) }).to be < 2
    ensure
      consumer&.close
    end

    it "ends within 2 seconds of Thread#raise: Producer#partition_count" do
      producer = Racecar::Native::Producer.new("bootstrap.servers" => "127.0.0.1:1")
      expect(seconds_to_interrupt { producer.partition_count("nowhere", 30) }).to be < 2
    ensure
      producer&.close(0)
    end
  end

  describe "Consumer#close" do
    it "returns at once on a consumer inherited across fork, leaving the parent's usable" do
      topic = create_topic
      consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("fork"))
      consumer.subscribe([topic])
      consumer.poll_batch(1, 1000)

      status, output = in_child(timeout: 20) do
        started = monotonic
        consumer.close
        format("%.3f %s", monotonic - started, consumer.closed?)
      end

      expect(status.exitstatus).to eq(0), output
      seconds, closed = output.split
      expect(Float(seconds)).to be < 1
      expect(closed).to eq("true")
      expect(consumer.poll_batch(1, 100)).to be_an(Array)
    ensure
      consumer&.close
    end

    it "waits for a poll another thread is blocked in, which returns, and frees the handle once" do
      topic = create_topic
      status, output = in_child do
        consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("inflight"))
        consumer.subscribe([topic])
        polling = Queue.new
        poller = Thread.new do
          polling << true
          consumer.poll_batch(10, 10_000)
        rescue Racecar::Error => e
          e.message
        end
        polling.pop
        sleep 0.5 # blocked in librdkafka by now
        started = monotonic
        consumer.close
        result = poller.value
        format("%.3f %s %p", monotonic - started, consumer.closed?, result)
      end

      expect(status.exitstatus).to eq(0), output
      seconds, closed, result = output.split(" ", 3)
      expect(Float(seconds)).to be < 5
      expect(closed).to eq("true")
      expect(result).to eq("[]").or eq('"the consumer is closed"')
    end

    it "is finished by the next close when an interrupt ended it, and closed? says whether it is" do
      topic = create_topic
      consumer = Racecar::Native::Consumer.new("bootstrap.servers" => brokers, "group.id" => unique_name("resume"))
      consumer.subscribe([topic])
      consumer.poll_batch(1, 1000)
      closer = Thread.new do
        consumer.close
      rescue Interrupt
        :interrupted
      end
      sleep 0.002
      closer.raise(Interrupt)
      closer.join
      consumer.close

      expect(consumer).to be_closed
      expect { consumer.poll_batch(1, 10) }.to raise_error(Racecar::Error, /closed/)
    end
  end

  describe "Producer#close" do
    # The delivery thread used to sleep out its 100 ms poll: rd_kafka_yield
    # called outside a librdkafka callback does nothing.
    # librdkafka 2.5 and later also wait up to a second in rd_kafka_destroy
    # for a last client-metrics push (KIP-714) when the broker offers it, as
    # Kafka 4 does; that wait is librdkafka's, not the delivery thread's, so
    # this measurement turns it off where the property exists.
    def producer_config_without_metrics_push
      config = { "bootstrap.servers" => brokers }
      metrics_push = Gem::Version.new(Racecar::Native.librdkafka_version) >= Gem::Version.new("2.5.0")
      config["enable.metrics.push"] = "false" if metrics_push
      config
    end

    it "wakes the delivery thread at once" do
      durations = Array.new(6) do
        producer = Racecar::Native::Producer.new(producer_config_without_metrics_push)
        sleep 0.05
        started = monotonic
        producer.close
        monotonic - started
      end

      expect(durations.sort[durations.size / 2]).to be < 0.05
    end
  end

  describe "a handle the GC collects without close" do
    def abandon_unreachable_producers(tracker, collected)
      5.times do
        producer = Racecar::Native::Producer.new("bootstrap.servers" => "127.0.0.1:1", "message.timeout.ms" => "600000")
        100.times { |i| producer.produce("nowhere", "v#{i}", nil, nil, nil, nil, tracker) }
        collected[producer] = true
      end
      nil
    end

    # Counted in a method of its own: the Array of keys would otherwise stay in
    # this frame, where the conservative stack scan keeps every key alive.
    def live_keys(weak_map)
      weak_map.keys.size
    end

    # Purging, joining the delivery thread and destroying the handle used to
    # run inside the GC's sweep with the GVL held, stalling every thread.
    it "is destroyed off the GVL: the collection does not wait for it, and its messages still fail" do
      baseline = Array.new(3) do
        started = monotonic
        GC.start
        monotonic - started
      end.max
      tracker = Racecar::Native::DeliveryTracker.new
      collected = ObjectSpace::WeakMap.new
      # In a thread that ends before the collections: no stale pointer to a
      # producer can remain on a stack that the GC scans conservatively.
      Thread.new { abandon_unreachable_producers(tracker, collected) }.join
      sleep 0.3 # every delivery thread is inside its poll
      slowest = 0
      10.times do
        started = monotonic
        GC.start
        slowest = [slowest, monotonic - started].max
        break if live_keys(collected).zero?
      end

      expect(live_keys(collected)).to eq(0)
      expect(slowest - baseline).to be < 0.1 # the old sweep took 0.3 s longer: 5 x (join 0-100 ms + destroy)
      expect(tracker.wait(10)).to be(true)
      expect(tracker.take_failures).not_to be_empty
    end
  end
end
