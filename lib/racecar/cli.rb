# frozen_string_literal: true

require_relative "errors"
require_relative "version"
require_relative "config"
require_relative "signals"
require_relative "daemon"
require_relative "liveness_probe"
require_relative "cli/options"
require_relative "cli/config_files"
require_relative "cli/rails_boot"
require_relative "cli/consumer_lookup"
require_relative "cli/crash_report"
require_relative "cli/reporting_worker"
require_relative "error_handler"

module Racecar
  # `racecar [options] ConsumerClass`: configures racecar from every source,
  # loads the application and runs one consumer until it is told to stop.
  # #run returns the exit status instead of exiting, so it can be tested.
  class Cli
    def self.main(argv)
      new(argv).run
    end

    def initialize(argv, root: Dir.pwd, env: ENV, stdout: $stdout, stderr: $stderr)
      @argv = argv.dup
      @root = root
      @env = env
      @stdout = stdout
      @stderr = stderr
      @started = false
    end

    def run
      # Log lines must reach a pipe or file as they happen, not at exit.
      @stdout.sync = true if @stdout.respond_to?(:sync=)
      options = Options.new(settings: Config::SETTINGS).parse(@argv)
      return print_and_succeed(options.usage) if options.help?
      return print_and_succeed("Racecar #{Racecar::VERSION}") if options.version?

      consumer_name = options.consumer_name
      @stderr.puts("=> Starting Racecar consumer #{consumer_name}...")
      consumer_class = prepare(options.config, consumer_name)
      start(consumer_class)
    rescue OptionParser::ParseError => e
      fail_with("#{e.message}\nRun `racecar --help` for the list of options.")
    rescue SystemExit
      raise
    rescue SignalException => e
      # A TERM that arrives before the consumer's traps are in place (while
      # Rails boots, say) is a request to stop, not a crash.
      raise unless e.signo == Signal.list.fetch("TERM")

      0
    rescue Exception => e # rubocop:disable Lint/RescueException -- any crash gets reported the same way
      crash(e)
    end

    private

    def config
      Racecar.config
    end

    def logger
      config.logger
    end

    # Everything before the consumer starts: configuration from each source in
    # order, the application, the consumer class. Returns the class.
    def prepare(cli_values, consumer_name)
      require_relative "../racecar"
      config.apply_cli(cli_values)
      rails = RailsBoot.new(config: config, root: @root, stdout: @stdout, stderr: @stderr)
      rails_booted = !config.without_rails && rails.boot
      ConfigFiles.new(config: config, root: @root, env: @env).load
      rails.connect_logger if rails_booted
      Array(config.require).each { |library| require_library(library) }
      consumer_class = ConsumerLookup.new(base: Racecar::Consumer).find(consumer_name)
      config.load_consumer_class(consumer_class)
      config.validate!
      @stderr.puts("=> Logging to #{config.logfile}") if config.logfile
      consumer_class
    end

    # --require dance_moves looks on the load path first, then relative to
    # the working directory, so both library names and app files work.
    def require_library(library)
      require library
    rescue LoadError => e
      local = File.expand_path(library, @root)
      raise e unless File.exist?(local) || File.exist?("#{local}.rb")

      require local
    end

    # Daemonizing comes first: it forks, and threads or handles made before
    # would not follow into the background process.
    def start(consumer_class)
      @stderr.puts("=> Wrooooom!")
      if config.daemonize
        return 1 unless daemonize
      else
        @stderr.puts("=> Ctrl-C to shutdown consumer")
      end
      datadog = install_datadog
      probe = install_liveness_probe
      log_start(consumer_class)
      @started = true
      status = workers > 1 ? run_parallel(consumer_class) : run_single(consumer_class)
      logger.info("Racecar stopped")
      status
    ensure
      # Also after a crash: a stopped consumer must not look alive.
      probe&.uninstall
      datadog&.close
    end

    def install_datadog
      return nil unless config.datadog_enabled

      require_relative "datadog"
      Racecar::Datadog.install(config: config, instrumenter: Racecar.instrumenter)
    end

    def workers
      config.parallel_workers.to_i
    end

    def run_single(consumer_class)
      runner = Racecar.runner(consumer_class.new)
      signals = Signals.new
      signals.on(Signals::STOP, immediate: -> { runner.stop }) { |name| logger.info("Received SIG#{name}, stopping") }
      signals.on("USR1") { dump_config }
      signals.install
      begin
        runner.run
      ensure
        signals.uninstall
      end
      0
    end

    # No Kafka client may exist before the fork: each worker builds its own
    # consumer instance and runner.
    def run_parallel(consumer_class)
      require_relative "parallel_runner"
      logger.info("=> Running with #{workers} parallel workers")
      ParallelRunner.new(
        worker_count: workers,
        worker: lambda { |_index|
          ReportingWorker.new(build: -> { Racecar.runner(consumer_class.new) },
                              on_crash: ->(error) { report_to_handler(error) })
        },
        logger: logger,
        on_usr1: -> { dump_config }
      ).run
    end

    def daemonize
      pidfile = config.pidfile || Daemon.default_pidfile(config.group_id || config.consumer_class&.name)
      logfile = config.logfile || Daemon::DEFAULT_LOGFILE
      daemon = Daemon.new(pidfile: File.expand_path(pidfile, @root))
      return false unless claimable?(daemon)

      @stderr.puts("=> Starting background process")
      @stderr.puts("=> Writing PID to #{daemon.pidfile}")
      @stderr.flush
      @stdout.puts("Starting racecar in the background; pidfile #{daemon.pidfile}, log #{File.expand_path(logfile, @root)}")
      @stdout.flush
      daemon.daemonize(logfile: File.expand_path(logfile, @root))
      true
    end

    # Upstream's words first, then which process holds the pidfile.
    def claimable?(daemon)
      daemon.ensure_not_running!
      true
    rescue Error => e
      @stderr.puts("=> Racecar is already running with that PID file (#{daemon.pidfile})")
      @stderr.puts("racecar: #{e.message}")
      false
    end

    def install_liveness_probe
      return nil unless config.liveness_probe_enabled

      probe = LivenessProbe.new(
        file_path: config.liveness_probe_file_path,
        max_interval: config.liveness_probe_max_interval,
        instrumenter: Racecar.instrumenter
      ).install
      @stderr.puts("=> Liveness probe enabled")
      probe
    end

    def log_start(consumer_class)
      topics = Array(config.subscriptions).map { |subscription| subscription.topic }
      logger.info("Starting #{consumer_class.name} with racecar #{Racecar::VERSION} (pid #{Process.pid})")
      logger.info("Group: #{config.group_id}")
      logger.info("Brokers: #{Array(config.brokers).join(', ')}")
      logger.info("Topics: #{topics.join(', ')}")
      logger.info("Parallel workers: #{workers}") if workers > 1
      logger.info("Liveness probe: #{config.liveness_probe_file_path}") if config.liveness_probe_enabled
    end

    # SIGUSR1: the configuration in use, secrets masked, on standard error.
    def dump_config
      text = config.respond_to?(:dump) ? config.dump : config.to_s
      @stderr.puts("Racecar configuration (pid #{Process.pid}):\n#{text}")
      @stderr.flush
    end

    def print_and_succeed(text)
      @stdout.puts(text)
      0
    end

    def fail_with(message)
      @stderr.puts("racecar: #{message}")
      1
    end

    # Upstream's crash text on stderr, then the on_error handler with the
    # exception and no info (a handler written for upstream's one argument
    # works too). A configuration, --require or consumer-name problem gets
    # only its headline: its backtrace and causes point into racecar, not at
    # the mistake.
    def crash(exception)
      usage = usage_problem?(exception)
      report = CrashReport.new(exception, backtrace: !usage, causes: !usage)
      @stderr.puts(report.upstream_text)
      @stderr.flush
      report_to_handler(exception)
      begin
        logger.error("Racecar crashed: #{report}") if config.logfile
      rescue StandardError
        nil # the report is on stderr already
      end
      1
    end

    def usage_problem?(exception)
      exception.is_a?(ConfigError) || (!@started && exception.is_a?(Error)) || exception.is_a?(LoadError)
    end

    def report_to_handler(exception)
      handler = begin
        config.error_handler
      rescue StandardError
        nil # the configuration itself is what failed
      end
      ErrorHandler.call(handler, exception, nil)
    rescue StandardError => e
      @stderr.puts("racecar: the on_error handler raised #{e.class}: #{e.message}")
    end
  end
end
