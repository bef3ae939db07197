# frozen_string_literal: true

module Racecar
  class Config
    # Derives a consumer group id from a class name exactly as upstream
    # Racecar does: a dash between each lower-case letter and the upper-case
    # letter after it, then everything down-cased (BaconConsumer ->
    # bacon-consumer, Foo::BarConsumer -> foo::bar-consumer,
    # HTTPEventsConsumer -> httpevents-consumer). A prettier rule would move
    # every migrated consumer to a new group, away from its committed offsets.
    module GroupId
      LOWER_UPPER = /[a-z][A-Z]/.freeze

      module_function

      def derive(class_name, prefix = nil)
        "#{prefix}#{dasherize(class_name)}"
      end

      def dasherize(class_name)
        class_name.to_s.gsub(LOWER_UPPER) { |pair| "#{pair[0]}-#{pair[1]}" }.downcase
      end
    end
  end
end
