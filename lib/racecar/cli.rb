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
      return print_and_succeed("racecar #{Racecar::VERSION}") if options.version?

      consumer_name = options.consumer_name
      consumer_class = prepare(options.config, consumer_name)
      start(consumer_class)
    rescue OptionParser::ParseError => e
      fail_with("#{e.message}\nRun `racecar --help` for the list of options.")
    rescue ConfigError => e
      fail_with(e.message)
    rescue Error, LoadError => e
      @started ? crash(e) : fail_with(e.message)
    rescue SystemExit, SignalException
      raise
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
      rails = RailsBoot.new(config: config, root: @root, stdout: @stdout)
      rails_booted = !config.without_rails && rails.boot
      ConfigFiles.new(config: config, root: @root, env: @env).load
      rails.connect_logger if rails_booted
      Array(config.require).each { |library| require_library(library) }
      consumer_class = ConsumerLookup.new(base: Racecar::Consumer).find(consumer_name)
      config.load_consumer_class(consumer_class)
      config.validate!
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
      daemonize if config.daemonize
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
      ParallelRunner.new(
        worker_count: workers,
        worker: ->(_index) { Racecar.runner(consumer_class.new) },
        logger: logger,
        on_usr1: -> { dump_config }
      ).run
    end

    def daemonize
      pidfile = config.pidfile || Daemon.default_pidfile(config.group_id || config.consumer_class&.name)
      logfile = config.logfile || Daemon::DEFAULT_LOGFILE
      daemon = Daemon.new(pidfile: File.expand_path(pidfile, @root))
      @stdout.puts("Starting racecar in the background; pidfile #{daemon.pidfile}, log #{File.expand_path(logfile, @root)}")
      @stdout.flush
      daemon.daemonize(logfile: File.expand_path(logfile, @root))
    end

    def install_liveness_probe
      return nil unless config.liveness_probe_enabled

      LivenessProbe.new(
        file_path: config.liveness_probe_file_path,
        max_interval: config.liveness_probe_max_interval,
        instrumenter: Racecar.instrumenter
      ).install
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

    def crash(exception)
      report = CrashReport.new(exception).to_s
      @stderr.puts("racecar: crashed: #{report}")
      @stderr.flush
      begin
        logger.error("Racecar crashed: #{report}") if config.logfile
      rescue StandardError
        nil # the report is on stderr already
      end
      1
    end
  end
end
