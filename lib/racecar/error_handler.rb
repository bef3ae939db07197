# frozen_string_literal: true

module Racecar
  # Calls the application's `on_error` handler. Upstream Racecar calls it with
  # (exception, info) for a processing error and with the exception alone when
  # the process crashes; a handler written as a lambda for either shape must
  # keep working, so a lambda gets as many arguments as it takes. Blocks and
  # procs always get both (info is nil after a crash).
  module ErrorHandler
    module_function

    def call(handler, exception, info)
      return nil if handler.nil?

      handler.call(*[exception, info].first(arguments_taken(handler)))
    end

    def arguments_taken(handler)
      return 2 unless handler.respond_to?(:lambda?) ? handler.lambda? : handler.is_a?(Method)

      parameters = handler.parameters
      return 2 if parameters.any? { |kind, _| kind == :rest }

      [parameters.count { |kind, _| kind == :req || kind == :opt }, 2].min
    end
  end
end
