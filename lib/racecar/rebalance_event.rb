# frozen_string_literal: true

module Racecar
  # What a consumer class's on_partitions_assigned / on_partitions_revoked hook
  # receives: which partitions of which topics changed hands.
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
