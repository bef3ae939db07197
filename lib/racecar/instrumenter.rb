# frozen_string_literal: true

require_relative "instrumenter/span"

module Racecar
  # Publishes racecar's events ("process_message.racecar", ...) to two kinds of
  # listeners: ActiveSupport::Notifications subscribers, when the application has
  # ActiveSupport loaded, and racecar's own in-process subscribers (the liveness
  # probe, Datadog), which work without ActiveSupport.
  #
  # The runner calls `listening?` in its hot loop and builds payloads only when it
  # is true, so that check is a Hash lookup plus ActiveSupport's own cached check.
  class Instrumenter
    SUFFIX = ".racecar"

    # The default backend: ActiveSupport::Notifications as soon as it is loaded,
    # even when that happens after this instrumenter was built (Rails boots late).
    AUTO = Object.new.freeze
    private_constant :AUTO

    # One in-process subscription; `pattern` is a full event name, a Regexp
    # matched against full event names, or nil for every racecar event.
    Subscription = Struct.new(:pattern, :callback) do
      def matches?(event_name)
        case pattern
        when nil then true
        when Regexp then pattern.match?(event_name)
        else pattern == event_name
        end
      end
    end

    def initialize(backend: AUTO)
      @auto_backend = backend.equal?(AUTO)
      @backend = @auto_backend ? nil : backend
      @subscriptions = [].freeze
      @event_names = {}
      # event name => frozen Array of matching subscriptions; replaced wholesale
      # whenever subscriptions change so readers never need the lock.
      @matching = {}
      # name as given => whether an in-process subscriber wants it; replaced
      # with the other caches, so the hot-loop check is one Hash lookup.
      @local_listening = {}
      # [$LOADED_FEATURES.size when listening? last found nobody at all, or
      # nil]. One Array for the instrumenter's life, so a hot path can keep it
      # and make the quiet check itself, without a method call (#quiet_marker).
      @quiet_marker = [nil]
      @lock = Mutex.new
    end

    # Runs the block (if any) and publishes "#{name}.racecar" with the payload and
    # the block's duration. Returns the block's value. When nobody listens, the
    # block just runs: no Hash, no clock reads.
    def instrument(name, payload = nil)
      event_name = event_name_for(name)
      subscriptions = subscriptions_for(event_name)
      backend = current_backend
      backend_listening = backend ? backend.notifier.listening?(event_name) : false

      if subscriptions.empty? && !backend_listening
        return block_given? ? yield(payload) : nil
      end

      payload = payload.nil? ? {} : payload
      payload = payload.dup if payload.frozen?
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      begin
        if backend_listening
          # ActiveSupport times the block and records an exception in the payload.
          backend.instrument(event_name, payload) { block_given? ? yield(payload) : nil }
        elsif block_given?
          begin
            yield payload
          rescue Exception => e # rubocop:disable Lint/RescueException -- recorded, then re-raised
            payload[:exception] = [e.class.name, e.message]
            payload[:exception_object] = e
            raise
          end
        end
      ensure
        unless subscriptions.empty?
          duration = block_given? ? Process.clock_gettime(Process::CLOCK_MONOTONIC) - started : 0.0
          subscriptions.each { |subscription| subscription.callback.call(event_name, payload, duration) }
        end
      end
    end

    # Starts a timed event that #finish on the returned Span publishes, for
    # spans that do not fit in one block (the runner's main_loop). nil when
    # nobody listens.
    def start(name, payload = nil)
      event_name = event_name_for(name)
      subscriptions = subscriptions_for(event_name)
      backend = current_backend
      backend = nil unless backend&.notifier&.listening?(event_name) && backend.respond_to?(:instrumenter)
      return nil if subscriptions.empty? && backend.nil?

      payload = payload.nil? ? {} : payload
      payload = payload.dup if payload.frozen?
      Span.new(event_name, payload, subscriptions, backend)
    end

    # True when an in-process or ActiveSupport subscriber wants "#{name}.racecar".
    def listening?(name)
      # The common quiet process (no racecar subscriber, no ActiveSupport)
      # answers here. ActiveSupport can only arrive through require, which
      # grows $LOADED_FEATURES; cheaper than a constant lookup per message.
      return false if @quiet_marker[0] == $LOADED_FEATURES.size

      local = @local_listening[name]
      if local.nil?
        local = !subscriptions_for(event_name_for(name)).empty?
        @local_listening[name] = local
      end
      return true if local

      backend = current_backend
      unless backend
        # Under the lock: a subscribe meanwhile must not be overwritten.
        @lock.synchronize { @quiet_marker[0] = $LOADED_FEATURES.size if @subscriptions.empty? }
        return false
      end
      backend.notifier.listening?(event_name_for(name))
    end

    # The quiet marker behind #listening?: when `quiet_marker[0] ==
    # $LOADED_FEATURES.size`, nobody listens to any event. A caller for which
    # a method call per message matters (the C async lane of Racecar::Producer)
    # checks that itself and asks #listening? only when it does not hold.
    attr_reader :quiet_marker

    # Registers an in-process subscriber for one event ("process_message" or
    # "process_message.racecar"), for every event matching a Regexp (matched against
    # the full name, e.g. /\Aprocess_/), or for every racecar event (no argument).
    # The block receives the full event name, the payload Hash and the duration in
    # seconds (0.0 for events published without a block). Returns a handle for
    # #unsubscribe.
    def subscribe(name_or_pattern = nil, &callback)
      raise ArgumentError, "subscribe needs a block" unless callback

      pattern = name_or_pattern
      pattern = event_name_for(pattern) unless pattern.nil? || pattern.is_a?(Regexp)
      subscription = Subscription.new(pattern, callback)
      @lock.synchronize do
        @subscriptions = (@subscriptions + [subscription]).freeze
        @matching = {}
        @local_listening = {}
        @quiet_marker[0] = nil
      end
      subscription
    end

    # Removes a subscriber returned by #subscribe; unknown handles are ignored.
    def unsubscribe(handle)
      @lock.synchronize do
        @subscriptions = @subscriptions.reject { |s| s.equal?(handle) }.freeze
        @matching = {}
        @local_listening = {}
        @quiet_marker[0] = nil
      end
      nil
    end

    # The ActiveSupport::Notifications-like object events are forwarded to, or nil.
    def backend
      current_backend
    end

    private

    def current_backend
      return @backend if @backend || !@auto_backend
      return nil unless defined?(::ActiveSupport::Notifications)

      load_notifications_state
      @backend = ::ActiveSupport::Notifications
    end

    # ActiveSupport 7.0+ keeps Notifications' per-thread instrumenters in
    # IsolatedExecutionState, which active_support/notifications does not
    # require (active_support.rb autoloads it): an application that requires
    # only "active_support/notifications" would get a NameError from the first
    # instrumented event. ActiveSupport 6.1 has no such file and needs none.
    def load_notifications_state
      return if defined?(::ActiveSupport::IsolatedExecutionState)

      require "active_support/isolated_execution_state"
    rescue LoadError
      nil
    end

    def event_name_for(name)
      @event_names[name] || @lock.synchronize do
        full = name.to_s
        full = "#{full}#{SUFFIX}" unless full.end_with?(SUFFIX)
        @event_names[name] = full.freeze
      end
    end

    def subscriptions_for(event_name)
      matching = @matching
      matching[event_name] || @lock.synchronize do
        # Re-read under the lock: a subscribe may have replaced the cache meanwhile.
        @matching[event_name] ||= @subscriptions.select { |s| s.matches?(event_name) }.freeze
      end
    end
  end
end
