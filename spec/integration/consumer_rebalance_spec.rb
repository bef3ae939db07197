# frozen_string_literal: true

require_relative "../support/consumer_helpers"

# Two members of one group handing partitions to each other, with the eager
# assignors (racecar's default) and with cooperative-sticky.
RSpec.describe "Consumer rebalances", :kafka do
  STRATEGIES = { "eager (range,roundrobin)" => "range,roundrobin", "cooperative-sticky" => "cooperative-sticky" }.freeze

  # A consumer class in the given group recording every message and hook call.
  def member_class(topic, group_id, log, fails: ->(_message) { false })
    define_consumer(group_id: group_id) do
      subscribes_to topic
      on_partitions_assigned { |event| log << [:assigned, event.topic_partitions, event.lost?] }
      on_partitions_revoked { |event| log << [:revoked, event.topic_partitions, event.lost?] }
      define_method(:process) do |message|
        log << [:process, message.partition, message.offset, message.value]
        raise "refusing #{message.partition}/#{message.offset}" if fails.call(message)
      end
    end
  end

  def owned(log, topic)
    log.select { |entry| %i[assigned revoked].include?(entry.first) }.each_with_object([]) do |(kind, tps, _), mine|
      kind == :assigned ? mine.concat(tps.fetch(topic, [])) : mine.replace(mine - tps.fetch(topic, []))
    end.sort
  end

  def processed(log)
    log.select { |entry| entry.first == :process }.map { |_, partition, offset, _| [partition, offset] }
  end

  STRATEGIES.each do |name, strategy|
    context "with #{name}" do
      let(:config) { -> { spec_config(partition_assignment_strategy: strategy, offset_commit_interval: 600) } }

      it "shares the partitions between members, telling each through the hooks" do
        topic = create_topic(partitions: 4)
        group = unique_name("group")
        first_log = []
        second_log = []
        first = start_consumer(member_class(topic, group, first_log).new, config: config.call)
        eventually(message: "the first assignment") { owned(first_log, topic) == [0, 1, 2, 3] }
        expect(first_log.first).to eq([:assigned, { topic => [0, 1, 2, 3] }, false])

        start_consumer(member_class(topic, group, second_log).new, config: config.call)
        eventually(message: "a shared assignment") do
          owned(second_log, topic).size == 2 && owned(first_log, topic).size == 2
        end
        expect(owned(first_log, topic) + owned(second_log, topic)).to contain_exactly(0, 1, 2, 3)

        revoked = first_log.select { |entry| entry.first == :revoked }.flat_map { |_, tps, _| tps.fetch(topic) }
        if strategy == "cooperative-sticky"
          expect(revoked).to match_array(owned(second_log, topic)) # only what moved
        else
          expect(revoked).to eq([0, 1, 2, 3]) # eager: everything, then a new assignment
        end

        first.stop
        eventually(message: "the second member taking over") { owned(second_log, topic) == [0, 1, 2, 3] }
      end

      it "processes every message exactly once while members join and leave mid-stream" do
        topic = create_topic(partitions: 4)
        group = unique_name("group")
        log = []
        produce_messages(topic, (0...200).map { |i| { value: "before-#{i}", partition: i % 4 } })
        first = start_consumer(member_class(topic, group, log).new, config: config.call)
        eventually(message: "the first 200 messages") { processed(log).size >= 200 }

        sent = 200
        feeding = true
        feeder = Thread.new do
          while feeding
            produce_messages(topic, (0...4).map { |p| { value: "during-#{sent + p}", partition: p } })
            sent += 4
            sleep 0.02
          end
        end
        second = start_consumer(member_class(topic, group, log).new, config: config.call)
        eventually(message: "the second member's first message") { log.count { |e| e.first == :assigned } >= 3 }
        sleep 1
        first.stop
        sleep 1
        feeding = false
        feeder.join
        eventually(message: "all #{sent} messages") { processed(log).uniq.size >= sent }
        second.stop

        expect(processed(log).size).to eq(sent)
        expect(processed(log).uniq.size).to eq(sent)
      end

      it "keeps a pause on a partition that stays and drops it with a partition that moves" do
        topic = create_topic(partitions: 2)
        group = unique_name("group")
        first_log = []
        second_log = []
        produce_messages(topic, [{ value: "old", partition: 0 }, { value: "old", partition: 1 }])
        paused_config = config.call
        paused_config.pause_timeout = -1
        refuse_old = ->(message) { message.value == "old" }
        start_consumer(member_class(topic, group, first_log, fails: refuse_old).new, config: paused_config)
        eventually(message: "both partitions paused") { processed(first_log).size == 2 }

        second = start_consumer(member_class(topic, group, second_log).new, config: config.call)
        eventually(message: "one partition moving") { owned(second_log, topic).size == 1 }
        moved = owned(second_log, topic).first
        kept = 1 - moved
        eventually(message: "the moved partition's old message") { processed(second_log) == [[moved, 0]] }

        second.stop
        eventually(message: "the partition coming back") { owned(first_log, topic) == [0, 1] }
        produce_messages(topic, [{ value: "new", partition: 0 }, { value: "new", partition: 1 }])
        eventually(message: "the new message on the returned partition") { processed(first_log).include?([moved, 1]) }
        sleep 0.5

        expect(processed(first_log).select { |partition, _| partition == kept }).to eq([[kept, 0]])
        expect(processed(second_log)).to eq([[moved, 0]])
      end
    end
  end
end
