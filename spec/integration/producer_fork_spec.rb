# frozen_string_literal: true

require_relative "../support/producer_helpers"

# Puma / Unicorn preload: the app produced in the parent, then forked. The
# child must get its own librdkafka handle (the parent's threads do not exist
# there) and the parent must keep working.
RSpec.describe "Producing around fork", :kafka, :producer do
  # Runs the block in a forked child; returns [exit status, seconds taken].
  def in_child(timeout: 30, &block)
    started = monotonic
    # The block ends with exit, which runs at_exit hooks and finalizers.
    pid = fork do
      block.call
      exit!(1)
    end
    waited = nil
    deadline = monotonic + timeout
    until (waited = Process.waitpid(pid, Process::WNOHANG))
      if monotonic > deadline
        Process.kill(:KILL, pid)
        Process.waitpid(pid)
        raise "child #{pid} did not exit within #{timeout}s"
      end
      sleep 0.02
    end
    [$?, monotonic - started]
  end

  # The parent produces before and after a child that runs the block with
  # the inherited producer and then closes it; returns the child's status.
  def produce_around_child(producer, topic)
    producer.produce_sync(value: "parent before fork", topic: topic)
    status, = in_child do
      yield
      producer.close(10)
      exit(0)
    end
    producer.produce_sync(value: "parent after fork", topic: topic)
    status
  end

  it "builds a new handle in a child forked after the first message; the parent keeps working" do
    topic = create_topic
    producer = isolated_producer(spec_config)

    status = produce_around_child(producer, topic) do
      producer.produce_sync(value: "child", topic: topic)
      producer.produce_async(value: "child async", topic: topic)
    end

    expect(status).to be_success
    expect(kcat_read(topic).map(&:value))
      .to eq(["parent before fork", "child", "child async", "parent after fork"])
  end

  it "builds a new handle in a child whose first call is produce_async, inside and outside wait_for_delivery" do
    topic = create_topic
    producer = isolated_producer(spec_config)

    status = produce_around_child(producer, topic) do
      producer.wait_for_delivery { producer.produce_async(value: "child tracked", topic: topic) }
      producer.produce_async(value: "child untracked", topic: topic)
    end

    expect(status).to be_success
    expect(kcat_read(topic).map(&:value))
      .to eq(["parent before fork", "child tracked", "child untracked", "parent after fork"])
  end

  it "lets a child that never produced exit promptly, although it inherited a live handle" do
    topic = create_topic
    producer = isolated_producer(spec_config)
    producer.produce_sync(value: "parent", topic: topic)

    status, seconds = in_child { exit(0) } # runs at_exit and finalizers on the inherited handle

    expect(status).to be_success
    expect(seconds).to be < 5
    producer.produce_sync(value: "parent again", topic: topic)
    expect(kcat_read(topic).map(&:value)).to eq(["parent", "parent again"])
  end

  it "works through Racecar.produce_sync, and the child's queued messages are delivered when it exits" do
    topic = create_topic

    with_racecar_config(spec_config(producer: ["linger.ms=200"])) do
      Racecar.produce_sync(value: "parent", topic: topic)
      status, = in_child do
        Racecar.produce_sync(value: "child sync", topic: topic)
        5.times { |i| Racecar.produce_async(value: "child #{i}", topic: topic) }
        exit(0) # the at_exit hook closes the child's producer, delivering what is queued
      end
      Racecar.produce_sync(value: "parent again", topic: topic)

      expect(status).to be_success
    end
    expect(kcat_read(topic).map(&:value))
      .to eq(["parent", "child sync", "child 0", "child 1", "child 2", "child 3", "child 4", "parent again"])
  end
end
