# frozen_string_literal: true

module Racecar
  # What a consumer class's on_partitions_assigned / on_partitions_revoked hook
  # receives: which partitions of which topics changed hands.
  #
  # `topic_name` and `partition_numbers` are upstream Racecar's names. Upstream
  # runs one librdkafka consumer per topic, so its event always names one
  # topic; here one member serves every topic of the class, and those two
  # describe the first topic while `topic_partitions` describes them all.
  class RebalanceEvent
    attr_reader :topic_partitions, :consumer_class, :group_id

    def initialize(topic_partitions:, consumer_class:, group_id:, lost: false)
      @topic_partitions = topic_partitions.transform_values { |parts| parts.sort.freeze }.freeze
      @consumer_class = consumer_class
      @group_id = group_id
      @lost = lost
    end

    def topics
      topic_partitions.keys
    end

    # The first topic involved, or nil when none is.
    def topic_name
      topic_partitions.each_key { |topic| return topic }
      nil
    end

    # The partition numbers of #topic_name, sorted. Not all topics' numbers
    # flattened: with two topics those would be pairs that do not exist.
    def partition_numbers
      name = topic_name
      name.nil? ? [].freeze : topic_partitions.fetch(name)
    end

    # Partition numbers of one topic, or of the only topic when there is one.
    def partitions(topic = nil)
      return topic_partitions.fetch(topic, []) if topic

      topic_partitions.values.flatten
    end

    # True when the partitions were taken away (session timeout, poll interval
    # exceeded) rather than handed over in an orderly rebalance.
    def lost?
      @lost
    end

    def empty?
      topic_partitions.empty?
    end

    def to_h
      { topic_partitions: topic_partitions, consumer_class: consumer_class&.name, group_id: group_id }
    end
  end
end
