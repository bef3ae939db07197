# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# At-least-once: which offsets a group commits, and where the next member of
# the group resumes.
RSpec.describe "Consumer offsets", :kafka do
  # A consumer of the same group that records where it starts reading.
  def resume_point(klass, topic, partition: 0)
    group_id = klass.group_id
    first = []
    successor = define_consumer(group_id: group_id) do
      subscribes_to topic
      define_method(:process) { |message| first << message.offset if message.partition == partition }
    end
    running = start_consumer(successor.new)
    eventually(message: "the successor's first message") { first.any? }
    running.stop
    first.first
  end

  it "commits processed offsets while the consumer sits idle, every offset_commit_interval" do
    topic = create_topic
    produce_messages(topic, (0...3).map { |i| { value: i.to_s } })
    processed = []
    commit_requests = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.offset }
      define_method(:statistics_callback) do |stats|
        count = stats["brokers"].values.sum { |broker| broker.dig("req", "OffsetCommit").to_i }
        commit_requests << [count, ConsumerHelpers.now]
      end
    end
    start_consumer(klass.new, config: spec_config(offset_commit_interval: 0.3, statistics_interval: 0.2))
    eventually(message: "three messages") { processed.size == 3 }
    eventually(message: "a commit of offset 3") { committed_offsets(klass.group_id, topic, 0) == { 0 => 3 } }

    # Counted from a statistics report after that commit (the commit can
    # come before the first report).
    eventually(message: "statistics after the commit") { commit_requests.any? }
    before_count, before_at = commit_requests.last
    sleep 2 # an idle window: nothing new to process
    after_count, after_at = commit_requests.last
    # Per second between the two reports, so late reports on a loaded machine
    # do not skew it: one commit per 0.3 s is ~3.3; none while idle would be 0.
    rate = (after_count - before_count) / (after_at - before_at)
    expect(processed.size).to eq(3)
    expect(rate).to be_between(1.5, 5.5)
  end

  it "commits on shutdown what was processed since the last commit" do
    topic = create_topic(partitions: 2)
    fill_partitions(topic, partitions: 2, per_partition: 5)
    processed = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.offset }
    end
    running = start_consumer(klass.new, config: spec_config(offset_commit_interval: 600))
    eventually(message: "ten messages") { processed.size == 10 }
    expect(committed_offsets(klass.group_id, topic, [0, 1])).to eq(0 => nil, 1 => nil)

    running.stop
    expect(committed_offsets(klass.group_id, topic, [0, 1])).to eq(0 => 5, 1 => 5)
  end

  it "lets the next member of the group resume after the last processed message" do
    topic = create_topic
    produce_messages(topic, (0...5).map { |i| { value: i.to_s } })
    processed = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.offset }
    end
    running = start_consumer(klass.new)
    eventually(message: "five messages") { processed.size == 5 }
    running.stop
    produce_messages(topic, [{ value: "new" }])

    expect(resume_point(klass, topic)).to eq(5)
  end

  it "resumes from the committed offset even when the subscription starts from the end" do
    topic = create_topic
    produce_messages(topic, [{ value: "0" }])
    processed = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) { |message| processed << message.offset }
    end
    start_consumer(klass.new).tap { eventually(message: "offset 0") { processed.any? } }.stop
    produce_messages(topic, [{ value: "1" }, { value: "2" }])

    late = []
    successor = define_consumer(group_id: klass.group_id) do
      subscribes_to topic, start_from_beginning: false
      define_method(:process) { |message| late << message.offset }
    end
    start_consumer(successor.new)
    eventually(message: "offsets 1 and 2") { late.size >= 2 }
    expect(late).to eq([1, 2])
  end

  it "finishes the current process call on stop, commits through it, and no further" do
    topic = create_topic
    produce_messages(topic, (0...5).map { |i| { value: i.to_s } })
    started = Queue.new
    release = Queue.new
    processed = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        if message.offset == 2
          started << true
          release.pop
        end
        processed << message.offset
      end
    end
    running = start_consumer(klass.new)
    started.pop
    stopper = Thread.new { running.stop }
    # The stop has been asked for and waits for the runner: only now let process return.
    Thread.pass until stopper.status == "sleep" && stopper.backtrace&.first.to_s.include?("in `join'")
    release << true
    stopper.join

    expect(processed).to eq([0, 1, 2])
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 3)
    expect(resume_point(klass, topic)).to eq(3)
  end

  it "never commits the offset of a message whose process raised" do
    topic = create_topic
    produce_messages(topic, (0...5).map { |i| { value: i.to_s } })
    attempts = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        attempts << message.offset
        raise "cannot handle #{message.offset}" if message.offset == 2
      end
    end
    config = spec_config(pause_timeout: 0.1, offset_commit_interval: 0.1)
    running = start_consumer(klass.new, config: config)
    eventually(message: "three failures of offset 2") { attempts.count(2) >= 3 }
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 2)
    running.stop

    expect(attempts.uniq).to eq([0, 1, 2])
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 2)
    expect(resume_point(klass, topic)).to eq(2)
  end

  it "never commits any offset of a batch whose process_batch raised" do
    topic = create_topic
    produce_messages(topic, (0...4).map { |i| { value: i.to_s } })
    batches = []
    klass = define_consumer do
      subscribes_to topic
      self.fetch_messages = 2
      define_method(:process_batch) do |messages|
        batches << messages.map(&:offset)
        raise "bad batch" if messages.map(&:offset).include?(3)
      end
    end
    running = start_consumer(klass.new, config: spec_config(pause_timeout: 0.1, offset_commit_interval: 0.1))
    eventually(message: "two failures of the second batch") { batches.count([2, 3]) >= 2 }
    running.stop

    expect(batches.uniq).to eq([[0, 1], [2, 3]])
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => 2)
    expect(resume_point(klass, topic)).to eq(2)
  end

  it "does not commit a message whose produced messages could not be delivered" do
    topic = create_topic
    output = "#{unique_name} is not a valid topic name"
    produce_messages(topic, [{ value: "in" }])
    errors = []
    attempts = []
    klass = define_consumer do
      subscribes_to topic
      define_method(:process) do |message|
        attempts << message.offset
        produce("out", topic: output)
      end
    end
    config = spec_config(pause_timeout: 0.2, offset_commit_interval: 0.1)
    config.on_error { |exception, info| errors << [exception, info] }
    running = start_consumer(klass.new, config: config)
    eventually(message: "two failed deliveries") { errors.size >= 2 }
    running.stop

    expect(errors.map(&:first)).to all(be_a(Racecar::MessageDeliveryError))
    expect(errors.first.last).to include(topic: topic, partition: 0, offset: 0)
    expect(attempts.uniq).to eq([0])
    expect(committed_offsets(klass.group_id, topic, 0)).to eq(0 => nil)
  end

  it "commits under the group id derived from the class name and group_id_prefix" do
    topic = create_topic
    produce_messages(topic, [{ value: "x" }])
    processed = []
    name = "Derived#{SecureRandom.hex(3).upcase}Consumer"
    klass = define_consumer(name, group_id: nil) do
      subscribes_to topic
      define_method(:process) { |message| processed << message }
    end
    prefix = "#{unique_name('pfx')}."
    start_consumer(klass.new, config: spec_config(group_id_prefix: prefix))
      .tap { eventually(message: "the message") { processed.any? } }.stop

    derived = "#{prefix}#{name.gsub(/([a-z])([A-Z])/, '\1-\2').downcase}" # upstream's rule
    expect(committed_offsets(derived, topic, 0)).to eq(0 => 1)
  end
end
