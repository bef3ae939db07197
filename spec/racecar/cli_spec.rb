# frozen_string_literal: true

require "tmpdir"
require "racecar/config"
require "racecar/cli/options"
require "racecar/cli/config_files"
require "racecar/cli/consumer_lookup"
require "racecar/cli/crash_report"
require "racecar/cli/rails_boot"
require_relative "../support/cli"

RSpec.describe "racecar's command line", :cli do
  describe Racecar::Cli::Options do
    def parse(*argv)
      described_class.new(settings: Racecar::Config::SETTINGS).parse(argv)
    end

    it "has a flag for every configuration key" do
      help = described_class.new(settings: Racecar::Config::SETTINGS).usage
      missing = Racecar::Config::SETTINGS.each_value.reject { |setting| help.include?(setting.flag.delete_prefix("--")) }
      expect(missing.map(&:name)).to eq([])
    end

    it "passes a valued flag's text on for the config to coerce" do
      expect(parse("--max-wait-time", "2", "C").config).to eq(max_wait_time: "2")
    end

    it "accepts --flag=value" do
      expect(parse("--group-id=orders", "C").config).to eq(group_id: "orders")
    end

    it "turns booleans into --flag / --no-flag" do
      expect(parse("--pause-with-exponential-backoff", "C").config).to eq(pause_with_exponential_backoff: true)
      expect(parse("--no-pause-with-exponential-backoff", "C").config).to eq(pause_with_exponential_backoff: false)
    end

    it "splits lists on commas and adds up repeated list flags" do
      options = parse("--brokers", "a:9092,b:9092", "--brokers", "c:9092", "C")
      expect(options.config).to eq(brokers: %w[a:9092 b:9092 c:9092])
    end

    it "collects every --require" do
      expect(parse("--require", "dance_moves", "--require", "./lib/steps", "C").config)
        .to eq(require: %w[dance_moves ./lib/steps])
    end

    it "takes librdkafka properties as key=value lists" do
      expect(parse("--consumer", "fetch.wait.max.ms=5,client.rack=a", "C").config)
        .to eq(consumer: %w[fetch.wait.max.ms=5 client.rack=a])
    end

    it "maps --log, --daemonize, --pidfile and --without-rails to their settings" do
      options = parse("--log", "log/x.log", "--daemonize", "--pidfile", "x.pid", "--without-rails", "C")
      expect(options.config).to eq(logfile: "log/x.log", daemonize: true, pidfile: "x.pid", without_rails: true)
    end

    it "reports only flags that were given, so defaults never hide the YAML file" do
      expect(parse("C").config).to eq({})
    end

    it "takes the consumer class from before or after the flags" do
      expect(parse("TapDanceConsumer", "--max-wait-time", "1").consumer_name).to eq("TapDanceConsumer")
      expect(parse("--max-wait-time", "1", "TapDanceConsumer").consumer_name).to eq("TapDanceConsumer")
    end

    it "requires exactly one consumer class" do
      expect { parse.consumer_name }.to raise_error(OptionParser::MissingArgument, /consumer class name/)
      expect { parse("A", "B").consumer_name }.to raise_error(OptionParser::NeedlessArgument, /only one consumer class/)
    end

    it "rejects unknown flags" do
      expect { parse("--max-wiat-time", "2", "C") }.to raise_error(OptionParser::InvalidOption, /--max-wiat-time/)
    end

    it "rejects abbreviated flags instead of guessing" do
      expect { parse("--max-wait", "2", "C") }.to raise_error(OptionParser::InvalidOption)
    end

    it "recognises --help and --version" do
      expect([parse("--help").help?, parse("--version").version?]).to eq([true, true])
    end
  end

  describe "precedence of configuration sources" do
    around do |example|
      Dir.mktmpdir("racecar-cli") do |dir|
        @dir = dir
        example.run
      end
    end

    def configure(argv, env: {}, yaml: nil)
      if yaml
        FileUtils.mkdir_p(File.join(@dir, "config"))
        File.write(File.join(@dir, "config", "racecar.yml"), yaml)
      end
      config = Racecar::Config.new(env: env)
      config.logger = Logger.new(File::NULL)
      config.apply_cli(Racecar::Cli::Options.new(settings: Racecar::Config::SETTINGS).parse(argv + ["C"]).config)
      Racecar::Cli::ConfigFiles.new(config: config, root: @dir, env: env).load
      config
    end

    it "lets a flag beat the environment" do
      config = configure(%w[--max-wait-time 2], env: { "RACECAR_MAX_WAIT_TIME" => "5" })
      expect(config.max_wait_time).to eq(2)
    end

    it "lets a flag beat config/racecar.yml, though the file is loaded later" do
      config = configure(%w[--max-wait-time 2], yaml: "development:\n  max_wait_time: 7\n")
      expect(config.max_wait_time).to eq(2)
    end

    it "lets config/racecar.yml beat the environment for keys without a flag" do
      config = configure([], env: { "RACECAR_MAX_WAIT_TIME" => "5" }, yaml: "development:\n  max_wait_time: 7\n")
      expect(config.max_wait_time).to eq(7)
    end

    it "reads the YAML section named by RAILS_ENV, then RACK_ENV" do
      yaml = "production:\n  client_id: prod\nstaging:\n  client_id: stage\ndevelopment:\n  client_id: dev\n"
      expect(configure([], env: { "RAILS_ENV" => "production", "RACK_ENV" => "staging" }, yaml: yaml).client_id).to eq("prod")
      expect(configure([], env: { "RACK_ENV" => "staging" }, yaml: yaml).client_id).to eq("stage")
      expect(configure([], yaml: yaml).client_id).to eq("dev")
    end

    it "lets a rejected flag value fail with the key's name" do
      expect { configure(%w[--max-wait-time soon]) }.to raise_error(Racecar::ConfigError, /max_wait_time.*command line/)
    end
  end

  describe Racecar::Cli::ConfigFiles do
    it "loads nothing when the application has no config files" do
      Dir.mktmpdir do |dir|
        expect(described_class.new(config: Racecar::Config.new(env: {}), root: dir, env: {}).load).to eq([])
      end
    end
  end

  describe Racecar::Cli::ConsumerLookup do
    # A stand-in base class keeps these examples independent of the real
    # Racecar::Consumer; the lookup only needs `<` and names.
    before(:all) do
      base = Class.new
      Object.const_set(:CliSpecConsumerBase, base)
      Object.const_set(:TapDanceConsumer, Class.new(base))
      Object.const_set(:CliSpecNamespace, Module.new)
      CliSpecNamespace.const_set(:BalletConsumer, Class.new(base))
      Object.const_set(:CliSpecNotAConsumer, Class.new)
    end

    after(:all) do
      %i[CliSpecConsumerBase TapDanceConsumer CliSpecNamespace CliSpecNotAConsumer].each do |name|
        Object.send(:remove_const, name)
      end
    end

    let(:lookup) { described_class.new(base: CliSpecConsumerBase) }

    it "finds a consumer class by name, namespaced or not" do
      expect(lookup.find("TapDanceConsumer")).to be(TapDanceConsumer)
      expect(lookup.find("CliSpecNamespace::BalletConsumer")).to be(CliSpecNamespace::BalletConsumer)
    end

    it "suggests the nearest defined consumer for a misspelt name" do
      expect { lookup.find("TapDanceConsumr") }
        .to raise_error(Racecar::Error, /Consumer class TapDanceConsumr is not defined\. Did you mean TapDanceConsumer\?/)
    end

    it "lists the defined consumers when nothing is close" do
      expect { lookup.find("Zzz") }
        .to raise_error(Racecar::Error, /Defined consumers: CliSpecNamespace::BalletConsumer, TapDanceConsumer/)
    end

    it "says when no consumer is loaded at all" do
      expect { described_class.new(base: Class.new).find("Zzz") }.to raise_error(Racecar::Error, /use --require/)
    end

    it "refuses a class that is not a consumer" do
      expect { lookup.find("CliSpecNotAConsumer") }.to raise_error(Racecar::Error, /must be a subclass of CliSpecConsumerBase/)
    end

    it "lets a NameError from inside the consumer's own file through" do
      # Its own base class, so the half-defined class stays out of the other examples' lists.
      Object.const_set(:CliSpecBrokenBase, Class.new)
      Dir.mktmpdir do |dir|
        file = File.join(dir, "broken_consumer.rb")
        File.write(file, "class CliSpecBrokenConsumer < CliSpecBrokenBase\n  UndefinedHelperThing\nend\n")
        Object.autoload(:CliSpecBrokenConsumer, file)
        expect { described_class.new(base: CliSpecBrokenBase).find("CliSpecBrokenConsumer") }
          .to raise_error(NameError, /UndefinedHelperThing/)
      end
    ensure
      %i[CliSpecBrokenConsumer CliSpecBrokenBase].each do |name|
        Object.send(:remove_const, name) if Object.const_defined?(name, false)
      end
    end
  end

  describe Racecar::Cli::CrashReport do
    it "shows the exception, its backtrace and each cause" do
      error = begin
        begin
          raise IOError, "socket closed"
        rescue IOError
          raise Racecar::Error, "could not deliver"
        end
      rescue Racecar::Error => e
        e
      end
      report = described_class.new(error).to_s
      expect(report).to match(/\ARacecar::Error: could not deliver\n    .*cli_spec\.rb:\d+.*\nCaused by:\nIOError: socket closed\n    /m)
    end
  end

  describe Racecar::Cli::RailsBoot do
    around do |example|
      Dir.mktmpdir("racecar-rails") do |dir|
        @dir = dir
        FileUtils.mkdir_p(File.join(dir, "config"))
        FileUtils.mkdir_p(File.join(dir, "log"))
        File.write(File.join(dir, "config", "environment.rb"), <<~RUBY)
          require "rails"
          module CliSpecApp
            class Application < Rails::Application
              config.root = File.expand_path("..", __dir__)
              config.eager_load = false
              config.logger = ActiveSupport::Logger.new(File.join(config.root, "log", "\#{Rails.env}.log"))
            end
          end
          Rails.application.initialize!
        RUBY
        example.run
      end
    end

    # Boots the app in a child process (Rails cannot be unloaded) and logs one
    # line through racecar's logger.
    def boot(rails_env)
      script = <<~RUBY
        require "racecar/config"
        require "racecar/cli/rails_boot"
        config = Racecar::Config.new(env: {})
        rails = Racecar::Cli::RailsBoot.new(config: config, root: ARGV[0])
        puts "booted: \#{rails.boot}"
        rails.connect_logger
        config.logger.info("line from racecar")
      RUBY
      run_command("-I", File.join(CliSpecHelpers::ROOT, "lib"), "-e", script, @dir, env: { "RAILS_ENV" => rails_env })
    end

    it "requires config/environment.rb and, in development, logs to STDOUT and the Rails log" do
      out, err, status = boot("development")
      expect([status.success?, err]).to eq([true, "=> Detected Rails, booting application...\n"])
      expect(out).to include("booted: true").and include("line from racecar")
      expect(File.read(File.join(@dir, "log", "development.log"))).to include("line from racecar")
    end

    it "keeps racecar's log on STDOUT only outside development" do
      out, _err, status = boot("production")
      expect(status.success?).to be(true)
      expect(out).to include("line from racecar")
      expect(File.read(File.join(@dir, "log", "production.log"))).not_to include("line from racecar")
    end

    it "does nothing without config/environment.rb" do
      Dir.mktmpdir do |empty|
        expect(described_class.new(config: Racecar::Config.new(env: {}), root: empty).boot).to be(false)
      end
    end
  end
end
