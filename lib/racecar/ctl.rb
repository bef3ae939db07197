# frozen_string_literal: true

require "optparse"
require_relative "errors"
require_relative "version"

module Racecar
  # `racecarctl COMMAND [options]`: operates on racecar processes from the
  # outside. What it prints and its exit codes are upstream Racecar's, since
  # scripts and runbooks read them; anything more (help, --timeout,
  # --partition) is an addition. Each command requires only what it needs, so
  # that the liveness probe, run every few seconds by Kubernetes, stays fast:
  # with liveness_probe_skip_config_files it loads neither the native
  # extension nor any config file.
  class Ctl
    COMMANDS = {
      "status" => "Print whether the racecar process in --pidfile FILE is running: `running (PID = n)`, or why not",
      "stop" => "Stop the racecar process in --pidfile FILE (SIGTERM, then wait for it to exit)",
      "produce" => "Produce one message: -t TOPIC -v VALUE [-k KEY] [--partition N]",
      "liveness_probe" => "Exit 0 when the liveness file was touched within liveness_probe_max_interval",
      "help" => "Show this help"
    }.freeze

    # How often `stop` says it is still waiting, as upstream does.
    WAITING_NOTICE_INTERVAL = 5

    def self.main(argv)
      new(argv).run
    end

    def initialize(argv, root: Dir.pwd, env: ENV, stdout: $stdout, stderr: $stderr)
      @argv = argv.dup
      @root = root
      @env = env
      @stdout = stdout
      @stderr = stderr
    end

    def run
      command = @argv.shift
      case command
      when nil then list_commands
      when "help", "--help", "-h" then help
      when "--version" then say("racecarctl #{Racecar::VERSION}")
      when "stop" then stop
      when "status" then status
      when "produce" then produce
      when "liveness_probe" then liveness_probe
      else complain("invalid command: #{command}")
      end
    rescue OptionParser::ParseError => e
      complain("#{command}: #{e.message}")
    rescue Error => e
      complain(e.message)
    end

    private

    # Upstream's answer to a bare `racecarctl`, liveness_probe added.
    def list_commands
      @stdout.puts("No command specified. Commands:")
      COMMANDS.each_key { |name| @stdout.puts(" - #{name}") unless name == "help" }
      0
    end

    def help
      @stdout.puts("Usage: racecarctl COMMAND [options]\n\nCommands:")
      width = COMMANDS.keys.map(&:length).max
      COMMANDS.each { |name, text| @stdout.puts("  #{name.ljust(width)}  #{text}") }
      @stdout.puts("\nRun `racecarctl COMMAND --help` for a command's options.")
      0
    end

    def stop
      options = {}
      parse("stop [--pidfile FILE] [--timeout SECONDS]", options) do |parser|
        pidfile_option(parser, options)
        parser.on("--timeout SECONDS", Float, "Give up (exit 1) after this long; default: wait until it exits") do |value|
          options[:timeout] = value
        end
      end
      return 0 if options[:help]

      daemon = daemon_for(options)
      pid = daemon.pid
      return say("Racecar is not currently running") unless pid && daemon.alive?(pid)

      signal_and_wait(daemon, pid, options[:timeout])
      say("Racecar stopped")
    end

    def signal_and_wait(daemon, pid, timeout)
      Process.kill("TERM", pid)
      started = now
      next_notice = started
      while daemon.alive?(pid)
        raise Error, "racecar (pid #{pid}) is still running #{timeout}s after SIGTERM" if timeout && now - started > timeout

        if now >= next_notice
          @stdout.puts("Waiting for Racecar process to stop...")
          next_notice += WAITING_NOTICE_INTERVAL
        end
        sleep(0.1)
      end
    rescue Errno::ESRCH
      nil # gone between the check and the signal
    end

    # Exits 0 whatever the state, as upstream does; the line says it.
    def status
      options = {}
      parse("status [--pidfile FILE]", options) { |parser| pidfile_option(parser, options) }
      return 0 if options[:help]

      daemon = daemon_for(options)
      pid = daemon.pid
      if pid && daemon.alive?(pid)
        say("running (PID = #{pid})")
      else
        say(pid.nil? ? "exited" : "dead")
      end
    end

    def produce
      options = {}
      parse("produce -t TOPIC -v VALUE [-k KEY] [--partition N]", options) do |parser|
        parser.on("-t", "--topic TOPIC", "Topic to produce to (required)") { |value| options[:topic] = value }
        parser.on("-v", "--value VALUE", "Message value (required)") { |value| options[:value] = value }
        parser.on("-k", "--key KEY", "Message key") { |value| options[:key] = value }
        parser.on("--partition N", Integer, "Partition (default: chosen by the partitioner)") do |value|
          options[:partition] = value
        end
      end
      return 0 if options[:help]
      raise Error, "no topic specified" unless options[:topic]
      raise Error, "no message value specified" unless options[:value]

      require_relative "../racecar"
      config_files.load
      Racecar.config.validate!
      Racecar.produce_sync(value: options[:value], topic: options[:topic], key: options[:key],
                           partition: options[:partition])
      @stderr.puts("=> Delivered message to Kafka cluster")
      0
    end

    def liveness_probe
      options = {}
      # --pidfile is accepted, as upstream accepts it, and means nothing here.
      parse("liveness_probe", options) { |parser| pidfile_option(parser, options) }
      return 0 if options[:help]

      require_relative "ctl/probe_config"
      config = ProbeConfig.new(root: @root, env: @env).load
      alive, message = config.liveness_probe.check
      return 0 if alive

      @stderr.puts(message)
      1
    end

    def config_files
      require_relative "cli/config_files"
      Cli::ConfigFiles.new(config: Racecar.config, root: @root, env: @env)
    end

    def parse(usage, options)
      parser = OptionParser.new
      parser.banner = "Usage: racecarctl #{usage}"
      yield parser
      parser.on("-h", "--help", "Show this help") do
        @stdout.puts(parser.help)
        options[:help] = true
      end
      rest = parser.parse(@argv)
      raise OptionParser::NeedlessArgument, rest.join(" ") unless rest.empty?
    end

    def pidfile_option(parser, options)
      parser.on("--pidfile FILE", "The pidfile the racecar process was started with (default: RACECAR_PIDFILE)") do |value|
        options[:pidfile] = value
      end
    end

    # --pidfile, else the configured pidfile (RACECAR_PIDFILE), as upstream.
    def daemon_for(options)
      pidfile = options[:pidfile] || configured_pidfile
      raise Error, "No pidfile specified" if pidfile.nil?

      require_relative "daemon"
      Daemon.new(pidfile: File.expand_path(pidfile, @root))
    end

    def configured_pidfile
      require_relative "config"
      Config.new(env: @env).pidfile
    end

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def say(text)
      @stdout.puts(text)
      0
    end

    # Upstream's "Error: ..." line on stderr, exit 1.
    def complain(message)
      @stderr.puts("Error: #{message}")
      1
    end
  end
end
