# frozen_string_literal: true

require "optparse"
require_relative "errors"
require_relative "version"

module Racecar
  # `racecarctl COMMAND [options]`: operates on racecar processes from the
  # outside. Each command requires only what it needs, so that the liveness
  # probe, run every few seconds by Kubernetes, stays fast: with
  # liveness_probe_skip_config_files it loads neither the native extension
  # nor any config file.
  class Ctl
    COMMANDS = {
      "stop" => "Stop the racecar process in --pidfile FILE (SIGTERM, then wait for it to exit)",
      "status" => "Tell whether the racecar process in --pidfile FILE is running (exit 0) or not (exit 1)",
      "produce" => "Produce one message: -t TOPIC -v VALUE [-k KEY] [--partition N]",
      "liveness_probe" => "Exit 0 when the liveness file was touched within liveness_probe_max_interval",
      "help" => "Show this help"
    }.freeze

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
      when nil, "help", "--help", "-h" then help(command.nil? ? 1 : 0)
      when "--version" then say("racecarctl #{Racecar::VERSION}")
      when "stop" then stop
      when "status" then status
      when "produce" then produce
      when "liveness_probe" then liveness_probe
      else complain("unknown command #{command.inspect}; commands: #{COMMANDS.keys.join(', ')}")
      end
    rescue OptionParser::ParseError => e
      complain("#{command}: #{e.message}")
    rescue Error => e
      complain(e.message)
    end

    private

    def help(exit_status)
      out = exit_status.zero? ? @stdout : @stderr
      out.puts("Usage: racecarctl COMMAND [options]\n\nCommands:")
      width = COMMANDS.keys.map(&:length).max
      COMMANDS.each { |name, text| out.puts("  #{name.ljust(width)}  #{text}") }
      out.puts("\nRun `racecarctl COMMAND --help` for a command's options.")
      exit_status
    end

    def stop
      options = { timeout: 30.0 }
      parse("stop --pidfile FILE [--timeout SECONDS]", options) do |parser|
        pidfile_option(parser, options)
        parser.on("--timeout SECONDS", Float, "How long to wait for the process to exit (default 30)") do |value|
          options[:timeout] = value
        end
      end
      return 0 if options[:help]

      daemon = daemon_for(options)
      pid = daemon.stop(timeout: options[:timeout])
      say("Stopped racecar (pid #{pid})")
    end

    def status
      options = {}
      parse("status --pidfile FILE", options) { |parser| pidfile_option(parser, options) }
      return 0 if options[:help]

      daemon = daemon_for(options)
      if daemon.running?
        say("racecar is running (pid #{daemon.pid}, pidfile #{daemon.pidfile})")
      else
        @stdout.puts("racecar is not running: #{daemon.not_running_reason}")
        1
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
      raise OptionParser::MissingArgument, "--topic" unless options[:topic]
      raise OptionParser::MissingArgument, "--value" unless options[:value]

      require_relative "../racecar"
      config_files.load
      Racecar.produce_sync(value: options[:value], topic: options[:topic], key: options[:key],
                           partition: options[:partition])
      say("Produced a message to #{options[:topic]}")
    end

    def liveness_probe
      options = {}
      parse("liveness_probe", options) { |_parser| nil }
      return 0 if options[:help]

      require_relative "liveness_probe"
      config = probe_config
      probe = LivenessProbe.new(file_path: config.liveness_probe_file_path,
                                max_interval: config.liveness_probe_max_interval)
      alive, reason = probe.check
      return 0 if alive

      @stderr.puts("racecarctl liveness_probe: #{probe.file_path}: #{reason}")
      1
    end

    # Only environment variables with liveness_probe_skip_config_files;
    # otherwise racecar and the application's config files are loaded too.
    def probe_config
      require_relative "config"
      config = Racecar::Config.new(env: @env)
      return config if config.liveness_probe_skip_config_files

      require_relative "../racecar"
      config_files.load
      Racecar.config
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
      parser.on("--pidfile FILE", "The pidfile the racecar process was started with (required)") do |value|
        options[:pidfile] = value
      end
    end

    def daemon_for(options)
      raise OptionParser::MissingArgument, "--pidfile" unless options[:pidfile]

      require_relative "daemon"
      Daemon.new(pidfile: File.expand_path(options[:pidfile], @root))
    end

    def say(text)
      @stdout.puts(text)
      0
    end

    def complain(message)
      @stderr.puts("racecarctl: #{message}")
      1
    end
  end
end
