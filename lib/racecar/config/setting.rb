# frozen_string_literal: true

require_relative "../errors"
require_relative "coercion"
require_relative "masking"

module Racecar
  class Config
    # Metadata for one configuration key. The CLI builds its flags from these,
    # the env loader its variable names, and docs can be generated from them,
    # so everything a user needs to know about a key lives here.
    class Setting
      TYPES = %i[string integer seconds boolean list enum enum_list properties].freeze

      attr_reader :name, :type, :default, :description, :allowed, :bound, :rdkafka, :ignored

      # bound: :positive (> 0), :non_negative (>= 0), :pause (-1 or >= 0),
      # or a number n meaning ">= n". rdkafka names the librdkafka property
      # the key feeds, for documentation only. symbol: an enum stored as a
      # Symbol. ignored: why a key upstream has means nothing here (it is
      # accepted, and its use logged once at start).
      def initialize(name:, type:, default:, description:, allowed: nil, bound: nil,
                     nullable: default.nil?, secret: false, rdkafka: nil, symbol: false, ignored: nil)
        raise ArgumentError, "unknown setting type #{type.inspect}" unless TYPES.include?(type)

        @name = name.to_sym
        @type = type
        @default = deep_freeze(symbol && default ? default.to_sym : default)
        @description = description.freeze
        @allowed = allowed&.map { |value| value.to_s.freeze }&.freeze
        @bound = bound
        @symbol = symbol
        @ignored = ignored&.freeze
        @nullable = nullable
        @secret = secret || Masking.secret_name?(@name)
        @rdkafka = rdkafka&.freeze
        freeze
      end

      def nullable?
        @nullable
      end

      def secret?
        @secret
      end

      def symbol?
        @symbol
      end

      # RACECAR_MAX_WAIT_TIME for max_wait_time.
      def env_name
        "RACECAR_#{name.to_s.upcase}"
      end

      # --max-wait-time for max_wait_time.
      def flag
        "--#{name.to_s.tr('_', '-')}"
      end

      # Turns a value from any source into the stored form, or raises
      # ConfigError naming the key, the (masked) value, where it came from and
      # what would have been accepted.
      def coerce(value, source: nil)
        Coercion.coerce(self, value)
      rescue Coercion::Invalid => e
        raise ConfigError, invalid_message(value, e.message, source)
      end

      # How a value of this key may be shown to a human: secrets are masked.
      def display(value)
        return value if value.nil?
        return Masking::FILTERED if secret?
        return Masking.property_list(value) if type == :properties

        value
      end

      def to_h
        {
          name: name, type: type, default: default, description: description, allowed: allowed,
          bound: bound, nullable: nullable?, secret: secret?, env_name: env_name, flag: flag,
          rdkafka: rdkafka, symbol: symbol?, ignored: ignored
        }
      end

      def inspect
        "#<#{self.class.name} #{name} (#{type}) default=#{display(default).inspect}>"
      end

      private

      def invalid_message(value, reason, source)
        from = source ? " (from #{source})" : ""
        shown = secret? ? Masking::FILTERED : Masking.scrub(value).inspect
        "Invalid value for #{name}#{from}: #{shown}; #{reason}"
      end

      def deep_freeze(value)
        value.is_a?(Array) ? value.map { |item| item.dup.freeze }.freeze : value.freeze
      end
    end
  end
end
