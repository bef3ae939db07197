# frozen_string_literal: true

require "did_you_mean"

module Racecar
  class Config
    # Turns values from any source (Ruby, YAML, CLI strings, env strings) into
    # one stored form per type. The same rules apply to every source, so a key
    # means the same thing wherever it is set.
    module Coercion
      # Raised with the reason only; Setting#coerce adds the key, the value
      # and the source, so that masking happens in one place.
      class Invalid < StandardError; end

      INTEGER = /\A[+-]?\d[\d_]*\z/.freeze
      NUMBER = /\A[+-]?(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?\z/.freeze

      module_function

      def coerce(setting, value)
        value = value.strip if value.is_a?(String)
        return empty(setting) if value.nil? || value == ""

        coerced = send(:"coerce_#{setting.type}", setting, value)
        check_bound(setting, coerced)
        coerced
      end

      # A missing value: lists become empty, optional keys unset, the rest
      # cannot be unset because the runner needs a value.
      def empty(setting)
        return nil if setting.default.nil? && setting.nullable?
        return [] if %i[list properties].include?(setting.type)
        return nil if setting.nullable?

        raise Invalid, "must be set (#{expectation(setting)})"
      end

      def coerce_string(setting, value)
        case value
        when String then value.dup.freeze
        when Symbol, Numeric then value.to_s.freeze
        else raise Invalid, expectation(setting)
        end
      end

      def coerce_integer(setting, value)
        case value
        when Integer then value
        when String
          raise Invalid, expectation(setting) unless INTEGER.match?(value)

          Integer(value.delete("_"), 10)
        else raise Invalid, expectation(setting)
        end
      end

      # Seconds stay Integer when whole ("10", 10) and become Float otherwise
      # ("1.5"), so printing the config shows what the user wrote.
      def coerce_seconds(setting, value)
        case value
        when Integer then value
        when Float, Rational
          raise Invalid, expectation(setting) unless value.finite?

          value.to_f
        when String
          raise Invalid, expectation(setting) unless NUMBER.match?(value)

          text = value.delete("_")
          INTEGER.match?(text) ? Integer(text, 10) : Float(text)
        else raise Invalid, expectation(setting)
        end
      end

      # Strict on purpose: "yes" or "TRUE" in an env var are more often a typo
      # than an intent, and a silently false flag is hard to notice. "1" and
      # "0" are accepted because upstream Racecar accepts them.
      def coerce_boolean(setting, value)
        case value
        when true, "true", "1" then true
        when false, "false", "0" then false
        else raise Invalid, expectation(setting)
        end
      end

      def coerce_list(setting, value)
        items =
          case value
          when String then value.split(",")
          when Array then value
          when Symbol then [value]
          else raise Invalid, expectation(setting)
          end
        items.map { |item| list_item(setting, item) }.reject(&:empty?).freeze
      end

      def list_item(setting, item)
        raise Invalid, expectation(setting) unless item.is_a?(String) || item.is_a?(Symbol) || item.is_a?(Numeric)

        item.to_s.strip.freeze
      end

      def coerce_enum(setting, value)
        raise Invalid, expectation(setting) unless value.is_a?(String) || value.is_a?(Symbol)

        text = enum_value(setting, value.to_s.strip)
        setting.symbol? ? text.to_sym : text
      end

      def enum_value(setting, text)
        match = setting.allowed.find { |allowed| allowed.casecmp?(text) }
        return match if match

        suggestion = DidYouMean::SpellChecker.new(dictionary: setting.allowed).correct(text).first
        hint = suggestion ? "; did you mean #{suggestion.inspect}?" : ""
        raise Invalid, "#{expectation(setting)}#{hint}"
      end

      # partition_assignment_strategy: librdkafka takes a comma-separated
      # list, tried in order. Stored as that String, canonical spelling.
      def coerce_enum_list(setting, value)
        items = value.is_a?(Array) ? value : value.to_s.split(",")
        raise Invalid, expectation(setting) unless items.all? { |item| item.is_a?(String) || item.is_a?(Symbol) }

        names = items.map(&:to_s).map(&:strip).reject(&:empty?)
        raise Invalid, "must be set (#{expectation(setting)})" if names.empty?

        names.map { |name| enum_value(setting, name) }.uniq.join(",").freeze
      end

      # librdkafka properties passed through: ["key=value", ...]. A Hash is
      # accepted too (handy in YAML). In a String (env, CLI) items are
      # comma-separated. Some values are lists themselves, so a piece without
      # "=" continues the previous value: "partition.assignment.strategy=
      # range,roundrobin" survives, also when a caller already split it.
      def coerce_properties(setting, value)
        pieces =
          case value
          when Hash then value.map { |key, item| "#{key}=#{item}" }
          when Array then value
          when String then value.split(",")
          else raise Invalid, expectation(setting)
          end
        raise Invalid, expectation(setting) unless pieces.all? { |item| item.is_a?(String) || item.is_a?(Symbol) }

        rejoin(pieces.map(&:to_s)).map { |item| property(item) }.freeze
      end

      def rejoin(pieces)
        pieces.each_with_object([]) do |piece, items|
          if piece.include?("=") || items.empty?
            items << piece
          else
            items[-1] = "#{items[-1]},#{piece}"
          end
        end
      end

      def property(item)
        key, separator, value = item.partition("=")
        if separator.empty? || key.strip.empty?
          raise Invalid, "#{Masking.scrub(item).inspect} is not a key=value librdkafka property"
        end

        "#{key.strip}=#{value.strip}".freeze
      end

      def check_bound(setting, value)
        return if value.nil? || setting.bound.nil?

        failure =
          case setting.bound
          when :positive then "must be greater than 0" unless value.positive?
          when :non_negative then "must be 0 or more" unless value >= 0
          when :pause then "must be -1 (pause forever), 0 (do not pause) or more" unless value == -1 || value >= 0
          else "must be #{setting.bound} or more" unless value >= setting.bound
          end
        raise Invalid, failure if failure
      end

      def expectation(setting)
        case setting.type
        when :string then "expected a string"
        when :integer then "expected an integer"
        when :seconds then "expected a number of seconds"
        when :boolean then "expected true or false"
        when :list then "expected a list of strings (comma-separated in a string)"
        when :enum then "allowed values: #{setting.allowed.join(', ')}"
        when :enum_list then "allowed values: #{setting.allowed.join(', ')} (comma-separated, in order of preference)"
        when :properties then "expected a list of key=value librdkafka properties"
        end
      end
    end
  end
end
