# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# What happens when process / process_batch raises: the error handler, the
# pause of that partition only, backoff, and the retry of the same messages.
RSpec.describe "Consumer pauses", :kafka do
  # How late a retry may come: librdkafka 2.0 applies the resume and seek
  # about one max_wait_time (0.2 s in spec_config) later, when its pending
  # fetch returns; the rest is room for a busy machine (a retry 1.10 s after a
  # 0.5 s pause broke the earlier 0.6 s on a loaded CI host). Lower bounds
  # prove the pause; upper bounds only need to tell a pause from the next
  # longer one (the 1.6 s cap from the 3.2 s a missing cap would give).
  SLACK = 1.5

  let(:errors) { [] }

  def config_with(**settings)
    spec_config(**settings).tap { |config| config.on_error { |exception, info| errors << [exception, info] } }
  end

  # Records [offset, time, retries_count] of every call; raises while the
  # block says so.
  def failing_consumer(topic, attempts, &fails)
    define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        attempts << [message.partition, message.offset, ConsumerHelpers.now, message.retries_count]
        raise ArgumentError, "bad #{message.offset}" if fails.call(message)
      end
    end
  end

  def gaps(times)
    times.each_cons(2).map { |a, b| b - a }
  end

  it "gives the error handler the exception and the failed message's details" do
    topic = create_topic(partitions: 2)
    created = Time.at(1_700_000_100, 250, :millisecond)
    produce_messages(topic, [{ value: "payload", key: "key", partition: 1, headers: { "h" => "v" },
                               create_time: (created.to_r * 1000).to_i }])
    attempts = []
    klass = failing_consumer(topic, attempts) { true }
    start_consumer(klass.new, config: config_with(pause_timeout: -1))
    exception, info = eventually(message: "an error") { errors.first }

    expect(exception).to be_a(ArgumentError).and(have_attributes(message: "bad 0"))
    expect(info).to eq(consumer_class: klass.name, topic: topic, partition: 1, offset: 0, create_time: created,
                       key: "key", value: "payload", headers: { "h" => "v" }, message_count: 1, retries_count: 0,
                       unrecoverable_delivery_error: false)
  end

  it "gives the error handler the failed batch's details" do
    topic = create_topic
    created = Time.at(1_700_000_200, 0, :millisecond)
    produce_messages(topic, (0..2).map { |i| { value: i.to_s, create_time: (created.to_r * 1000).to_i + i } })
    klass = define_consumer do
      subscribes_to topic
      define_method(:process_batch) { |_messages| raise IOError, "batch failed" }
    end
    start_consumer(klass.new, config: config_with(pause_timeout: -1))
    exception, info = eventually(message: "an error") { errors.first }

    expect(exception).to be_a(IOError)
    expect(info).to eq(consumer_class: klass.name, topic: topic, partition: 0, first_offset: 0, last_offset: 2,
                       last_create_time: Time.at(1_700_000_200, 2, :millisecond), message_count: 3,
                       retries_count: 0, unrecoverable_delivery_error: false)
  end

  it "retries the failed message after pause_timeout, and carries on in order once it succeeds" do
    topic = create_topic
    produce_messages(topic, (0..3).map { |i| { value: i.to_s } })
    attempts = []
    klass = failing_consumer(topic, attempts) { |m| m.offset == 1 && attempts.count { |a| a[1] == 1 } < 3 }
    start_consumer(klass.new, config: config_with(pause_timeout: 0.5))
    eventually(message: "all four messages") { attempts.map { |a| a[1] }.include?(3) }

    expect(attempts.map { |a| a[1] }).to eq([0, 1, 1, 1, 2, 3])
    retry_gaps = gaps(attempts.select { |a| a[1] == 1 }.map { |a| a[2] })
    expect(retry_gaps).to all(be_between(0.5, 0.5 + SLACK))
  end

  it "keeps other partitions flowing while one is paused" do
    topic = create_topic(partitions: 2)
    produce_messages(topic, [{ value: "stuck", partition: 0 }])
    attempts = []
    klass = failing_consumer(topic, attempts) { |m| m.partition.zero? }
    start_consumer(klass.new, config: config_with(pause_timeout: 5))
    eventually(message: "the first failure") { errors.any? }
    produce_messages(topic, (0..4).map { |i| { value: i.to_s, partition: 1 } })
    eventually(message: "partition 1's messages") { attempts.count { |a| a[0] == 1 } == 5 }

    expect(attempts.count { |a| a[0].zero? }).to eq(1)
  end

  it "doubles the pause on each consecutive failure up to max_pause_timeout with exponential backoff" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    attempts = []
    klass = failing_consumer(topic, attempts) { true }
    config = config_with(pause_timeout: 0.4, pause_with_exponential_backoff: true, max_pause_timeout: 1.6)
    start_consumer(klass.new, config: config)
    eventually(message: "five attempts") { attempts.size >= 5 }

    expected = [0.4, 0.8, 1.6, 1.6]
    gaps(attempts.first(5).map { |a| a[2] }).zip(expected).each do |gap, pause|
      expect(gap).to be_between(pause, pause + SLACK)
    end
  end

  it "pauses the same time after every failure without exponential backoff" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    attempts = []
    klass = failing_consumer(topic, attempts) { true }
    start_consumer(klass.new, config: config_with(pause_timeout: 0.3))
    eventually(message: "four attempts") { attempts.size >= 4 }
    expect(gaps(attempts.first(4).map { |a| a[2] })).to all(be_between(0.3, 0.3 + SLACK))
  end

  it "pauses a failing partition until restart with pause_timeout -1" do
    topic = create_topic(partitions: 2)
    produce_messages(topic, [{ value: "stuck", partition: 0 }])
    attempts = []
    klass = failing_consumer(topic, attempts) { |m| m.partition.zero? }
    running = start_consumer(klass.new, config: config_with(pause_timeout: -1))
    eventually(message: "the failure") { errors.any? }
    produce_messages(topic, [{ value: "flows", partition: 1 }])
    eventually(message: "partition 1's message") { attempts.any? { |a| a[0] == 1 } }
    sleep 1.5
    expect(attempts.count { |a| a[0].zero? }).to eq(1)
    running.stop

    retried = []
    successor = define_consumer(group_id: klass.group_id) do
      subscribes_to topic
      define_method(:process) { |message| retried << [message.partition, message.offset] }
    end
    start_consumer(successor.new)
    eventually(message: "the retry after restart") { retried.include?([0, 0]) }
    expect(retried).not_to include([1, 0])
  end

  it "retries at once, without pausing, with pause_timeout 0" do
    topic = create_topic
    produce_messages(topic, [{ value: "0" }, { value: "1" }])
    attempts = []
    klass = failing_consumer(topic, attempts) { |m| m.offset.zero? && attempts.size < 6 }
    start_consumer(klass.new, config: config_with(pause_timeout: 0))
    eventually(message: "the message after the failing one") { attempts.any? { |a| a[1] == 1 } }

    expect(attempts.map { |a| a[1] }).to eq([0, 0, 0, 0, 0, 0, 1])
    expect(errors.size).to eq(5)
    # No pause: the message comes back with the next fetch, one max_wait_time later.
    expect(gaps(attempts.map { |a| a[2] }).first(5).max).to be < SLACK
  end

  it "counts consecutive failures of a partition in retries_count, back to 0 after a success" do
    topic = create_topic
    produce_messages(topic, [{ value: "0" }, { value: "1" }])
    attempts = []
    klass = failing_consumer(topic, attempts) { |m| attempts.count { |a| a[1] == m.offset } <= 2 }
    start_consumer(klass.new, config: config_with(pause_timeout: 0.05))
    eventually(message: "both messages processed") { attempts.size >= 6 }

    expect(attempts.map { |a| [a[1], a[3]] }).to eq([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
    expect(errors.map { |_, info| [info[:offset], info[:retries_count]] }).to eq([[0, 0], [0, 1], [1, 0], [1, 1]])
  end

  it "hands a failed batch back whole, with the same messages, after the pause" do
    topic = create_topic
    produce_messages(topic, (0..4).map { |i| { value: i.to_s } })
    batches = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process_batch) do |messages|
        batches << [messages.map(&:offset), messages.map(&:retries_count).uniq]
        raise "again" if batches.size < 3
      end
    end
    start_consumer(klass.new, config: config_with(pause_timeout: 0.1))
    eventually(message: "three batches") { batches.size >= 3 }

    expect(batches).to eq([[[0, 1, 2, 3, 4], [0]], [[0, 1, 2, 3, 4], [1]], [[0, 1, 2, 3, 4], [2]]])
  end
end
