# frozen_string_literal: true

require "racecar/config"

# Stand-ins for consumer classes, so the config specs do not depend on
# Racecar::Consumer: only the class methods Config reads are defined.
module ConfigSpecSupport
  Subscription = Struct.new(:topic, :start_from_beginning, :max_bytes_per_partition, :additional_config,
                            keyword_init: true)

  def self.subscription(topic, start_from_beginning: true, max_bytes_per_partition: 1_048_576,
                        additional_config: {})
    Subscription.new(topic: topic, start_from_beginning: start_from_beginning,
                     max_bytes_per_partition: max_bytes_per_partition, additional_config: additional_config)
  end

  # A named class (Config derives group ids from the name) with the given
  # class-level values; nil means "not set", as in Racecar::Consumer.
  def self.consumer_class(name, group_id: nil, max_wait_time: nil, fetch_messages: nil, parallel_workers: nil,
                          subscriptions: [subscription("events")])
    Class.new do
      define_singleton_method(:name) { name }
      define_singleton_method(:group_id) { group_id }
      define_singleton_method(:max_wait_time) { max_wait_time }
      define_singleton_method(:fetch_messages) { fetch_messages }
      define_singleton_method(:parallel_workers) { parallel_workers }
      define_singleton_method(:subscriptions) { subscriptions }
    end
  end
end
