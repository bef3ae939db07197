# frozen_string_literal: true

require_relative "../errors"

module Racecar
  class Cli
    # Turns the class name given on the command line into a consumer class,
    # with a helpful error for a typo: the names of the Racecar::Consumer
    # subclasses that are defined, nearest first.
    class ConsumerLookup
      def initialize(base:)
        @base = base
      end

      def find(name)
        klass = resolve(name)
        unless klass.is_a?(Class) && klass < @base
          raise Error, "#{name} is not a consumer: it must be a subclass of #{@base.name}"
        end

        klass
      end

      # Names of the defined consumer classes (anonymous ones have none).
      def known_names
        ObjectSpace.each_object(Class).select { |klass| klass < @base && klass.name }.map(&:name).sort
      end

      private

      def resolve(name)
        Object.const_get(name)
      rescue NameError => e
        # A NameError raised while loading the class (a typo inside its file)
        # is a bug to show as it is, not a missing consumer.
        raise unless missing?(e, name)

        raise Error, not_found_message(name)
      end

      def missing?(error, name)
        return true if name.to_s.empty? || !name.match?(/\A(::)?[A-Z]\w*(::[A-Z]\w*)*\z/)

        error.name && name.to_s.split("::").include?(error.name.to_s)
      end

      def not_found_message(name)
        known = known_names
        suggestions = DidYouMean::SpellChecker.new(dictionary: known).correct(name.to_s)
        message = +"Consumer class #{name} is not defined."
        message << " Did you mean #{suggestions.join(' or ')}?" unless suggestions.empty?
        message << if known.empty?
                     " No Racecar::Consumer subclass is loaded: use --require to load the file that defines it."
                   else
                     " Defined consumers: #{known.join(', ')}."
                   end
        message
      end
    end
  end
end
