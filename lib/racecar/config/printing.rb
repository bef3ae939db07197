# frozen_string_literal: true

require_relative "masking"

module Racecar
  class Config
    # The ways a Config shows itself to people: to_h, inspect and the
    # multi-line dump that SIGUSR1 prints. Secrets are always masked; the
    # real values only reach librdkafka through rdkafka_consumer/producer.
    module Printing
      # Every key with secrets masked.
      def to_h
        SETTINGS.to_h { |name, setting| [name, setting.display(@values[name])] }
      end

      # Multi-line "key = value" text, then the consumer class and one line
      # per subscription.
      def dump
        lines = SETTINGS.map { |name, setting| "#{name} = #{shown(setting, @values[name])}" }
        lines << "consumer_class = #{consumer_class&.name || consumer_class.inspect}"
        subscriptions.each { |subscription| lines << "subscription = #{describe(subscription)}" }
        lines.join("\n")
      end

      def to_s
        dump
      end

      def inspect
        fields = to_h.map { |name, value| "#{name}=#{value.inspect}" }
        "#<#{self.class.name} #{fields.join(' ')}>"
      end

      private

      def shown(setting, value)
        setting.secret? && !value.nil? ? Masking::FILTERED : setting.display(value).inspect
      end

      def describe(subscription)
        extra = Masking.properties((subscription.additional_config || {}).to_h { |key, value| [key.to_s, value] })
        "#{subscription.topic} (start_from_beginning: #{subscription.start_from_beginning}, " \
          "max_bytes_per_partition: #{subscription.max_bytes_per_partition.inspect}, additional_config: #{extra})"
      end
    end
  end
end
