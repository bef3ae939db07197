# frozen_string_literal: true

module Racecar
  # Signal handling that is safe inside a trap context.
  #
  # A trap handler may interrupt any Ruby code, including code that holds the
  # logger's mutex, so it must not log or take locks. Each handler therefore has
  # two halves: an optional `immediate` callable that runs in the trap itself and
  # must only flip state or call something trap-safe (Runner#stop), and a block
  # that runs afterwards on a watcher thread, woken through a self-pipe, where
  # logging, printing and Process.kill are fine.
  class Signals
    STOP = %w[TERM INT QUIT].freeze

    def initialize
      @handlers = {}
      @previous = {}
      @reader = nil
      @writer = nil
      @thread = nil
    end

    # Registers a handler for each named signal ("TERM", "USR1"). Must be called
    # before #install.
    def on(*names, immediate: nil, &deferred)
      names.flatten.each { |name| @handlers[name.to_s.delete_prefix("SIG")] = [immediate, deferred] }
      self
    end

    def install
      @reader, @writer = IO.pipe
      @thread = Thread.new { dispatch_loop }
      @thread.name = "racecar-signals" if @thread.respond_to?(:name=)
      @thread.report_on_exception = true
      @handlers.each_key do |name|
        @previous[name] = Signal.trap(name) { |_signo| received(name) }
      end
      self
    end

    # Restores the traps that were in place before #install and stops the
    # watcher thread after it has run every deferred handler already queued.
    def uninstall
      @previous.each { |name, previous| Signal.trap(name, previous || "DEFAULT") }
      @previous = {}
      return self unless @writer

      @writer.close
      @thread&.join
      @reader.close
      @reader = @writer = @thread = nil
      self
    end

    # In a freshly forked child the watcher thread does not exist and the pipe
    # belongs to the parent: drop both without touching the parent's state. The
    # traps stay until the child installs its own handlers.
    def discard_after_fork
      [@reader, @writer].each { |io| io&.close unless io&.closed? }
      @reader = @writer = @thread = nil
      self
    end

    private

    def received(name)
      immediate, = @handlers[name]
      immediate&.call
      # A full pipe (thousands of pending signals) just drops the notification.
      @writer&.write_nonblock("#{name}\n", exception: false)
    rescue IOError
      # Uninstalled concurrently; the immediate half has already run.
      nil
    end

    def dispatch_loop
      @reader.each_line do |line|
        name = line.chomp
        _, deferred = @handlers[name]
        run_deferred(deferred, name) if deferred
      end
    rescue IOError
      nil
    end

    # One failing handler must not stop the others from ever running again.
    def run_deferred(deferred, name)
      deferred.call(name)
    rescue StandardError => e
      warn("racecar: error while handling SIG#{name}: #{e.class}: #{e.message}")
    end
  end
end
