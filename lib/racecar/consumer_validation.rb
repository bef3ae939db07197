# frozen_string_literal: true

module Racecar
  # Checks a consumer class before anything connects to Kafka, so a typo in
  # a method name or signature fails at start with a message naming it.
  module ConsumerValidation
    module_function

    # Returns :process or :process_batch.
    def check!(consumer_class)
      unless consumer_class.is_a?(Class) && consumer_class < Consumer
        raise ConfigError, "#{consumer_class.inspect} is not a subclass of Racecar::Consumer"
      end

      own = ->(name) { consumer_class.method_defined?(name) && consumer_class.instance_method(name).owner != Consumer }
      has_process = own.call(:process)
      has_batch = own.call(:process_batch)
      # Both defined: process_batch is called, as upstream Racecar does.
      has_process = false if has_batch
      unless has_process || has_batch
        raise ConfigError, "#{consumer_class.name} must define #process(message) or #process_batch(messages)"
      end

      name = has_process ? :process : :process_batch
      check_arity!(consumer_class, name)
      if consumer_class.subscriptions.empty?
        raise ConfigError, "#{consumer_class.name} does not subscribe to any topic; add `subscribes_to \"topic\"`"
      end
      name
    end

    def check_arity!(consumer_class, name)
      params = consumer_class.instance_method(name).parameters
      required = params.count { |kind, _| kind == :req }
      optional = params.count { |kind, _| kind == :opt }
      rest = params.any? { |kind, _| kind == :rest }
      required_keywords = params.select { |kind, _| kind == :keyreq }.map(&:last)
      takes_one = required <= 1 && (required + optional >= 1 || rest)
      return if takes_one && required_keywords.empty?

      argument = name == :process ? "message" : "messages"
      raise ConfigError, "#{consumer_class.name}##{name} must take exactly one argument (#{argument}), " \
                         "but its parameters are (#{describe(params)})"
    end

    def describe(params)
      params.map { |kind, n| { req: n.to_s, opt: "#{n} = ...", rest: "*#{n}", keyreq: "#{n}:", key: "#{n}: ...", keyrest: "**#{n}", block: "&#{n}" }.fetch(kind, n.to_s) }.join(", ")
    end
  end
end
