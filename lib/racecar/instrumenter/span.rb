# frozen_string_literal: true

module Racecar
  class Instrumenter
    # A timed event whose start and end are in different calls: the runner's
    # main_loop begins in Ruby before the native loop polls and ends when the
    # native loop hands the iteration back. Published like a block event
    # (ActiveSupport subscribers get start and finish, racecar's own get the
    # duration), and on the thread that started it, because ActiveSupport
    # keeps its timing stacks per thread.
    class Span
      attr_reader :payload

      def initialize(event_name, payload, subscriptions, backend)
        @event_name = event_name
        @payload = payload
        @subscriptions = subscriptions
        @started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        @finished = false
        @handle = nil
        @backend_instrumenter = nil
        @state = nil
        start_backend(backend) if backend
      end

      # Publishes the event; an exception that ended the span is recorded in
      # the payload as a block event would. Only the first call counts.
      def finish(exception = nil)
        return if @finished

        @finished = true
        if exception
          @payload[:exception] = [exception.class.name, exception.message]
          @payload[:exception_object] = exception
        end
        finish_backend
        duration = Process.clock_gettime(Process::CLOCK_MONOTONIC) - @started
        @subscriptions.each { |subscription| subscription.callback.call(@event_name, @payload, duration) }
        nil
      end

      private

      # ActiveSupport 7.1 has handles; 6.1 and 7.0 return the listeners from
      # start so that a subscriber added meanwhile is not finished unstarted.
      def start_backend(backend)
        instrumenter = backend.instrumenter
        if instrumenter.respond_to?(:build_handle)
          @handle = instrumenter.build_handle(@event_name, @payload)
          @handle.start
        else
          @backend_instrumenter = instrumenter
          @state = instrumenter.start(@event_name, @payload)
        end
      end

      def finish_backend
        if @handle
          @handle.finish
        elsif @backend_instrumenter
          if @backend_instrumenter.respond_to?(:finish_with_state) && @state.is_a?(Array)
            @backend_instrumenter.finish_with_state(@state, @event_name, @payload)
          else
            @backend_instrumenter.finish(@event_name, @payload)
          end
        end
      end
    end
  end
end
