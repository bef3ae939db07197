# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "tmpdir"
require "yaml"
require_relative "../support/cli"
require_relative "../support/manual_examples"
require_relative "../support/rails_app"

# The manual's Rails path end to end, in an application made by `rails new`:
# `rails generate racecar:install`, `rails generate racecar:consumer TapDance`,
# then `bundle exec racecar TapDanceConsumer` against the real broker, and
# `--without-rails` not booting the application.
RSpec.describe "racecar in a generated Rails application (integration)", :kafka do
  before(:context) do
    @dir = Dir.mktmpdir("racecar-rails-generated")
    @app = RailsApp.copy(@dir)
    @install = RailsApp.rails(@app, "generate", "racecar:install")
    @generate = RailsApp.rails(@app, "generate", "racecar:consumer", "TapDance")
    @topic = unique_name("rails-tap-dance")
    @group = unique_name("rails-tap-dance-group")
  end

  after(:context) { FileUtils.remove_entry(@dir) }

  after { processes.each(&:kill) }

  let(:consumer_path) { File.join(@app, "app", "consumers", "tap_dance_consumer.rb") }
  let(:config_path) { File.join(@app, "config", "racecar.yml") }
  let(:danced_path) { File.join(@app, "tmp", "danced.txt") }
  let(:processes) { [] }

  # The generated files, changed the way a developer would: the development
  # section points at the spec broker with a group of its own, and the
  # consumer reads a topic of its own and also uses a model and Rails.logger.
  def customize_app
    config = YAML.safe_load(File.read(config_path), aliases: true)
    expect(config.dig("development", "brokers")).to eq(["localhost:9092"]) # as generated
    File.write(config_path, File.read(config_path).sub(/^development:\n  <<: \*common\n/, <<~YAML))
      development:
        <<: *common
        brokers:
          - #{brokers}
        group_id: #{@group}
        max_wait_time: 0.2
    YAML

    source = File.read(consumer_path)
    expect(source).to include('subscribes_to "tap-dance"')
    source = source.sub('subscribes_to "tap-dance"', "subscribes_to #{@topic.inspect}")
    File.write(consumer_path, source.sub(/^  def process\(message\)\n/, <<~RUBY.gsub(/^/, "  ")))
      def process(message)
        DanceFloor.record(message.value)
        Rails.logger.info("TapDanceConsumer danced \#{message.value} in \#{Rails.env}")
    RUBY

    # A plain Ruby model, autoloaded from app/models like any other.
    File.write(File.join(@app, "app", "models", "dance_floor.rb"), <<~RUBY)
      # frozen_string_literal: true

      class DanceFloor
        def self.record(move)
          File.open(Rails.root.join("tmp", "danced.txt"), "a") { |file| file.puts(move) }
        end
      end
    RUBY
  end

  def racecar(*args)
    env = ManualExamples.clean_env("BUNDLE_GEMFILE" => File.join(@app, "Gemfile"), "RAILS_ENV" => "development",
                                   "DISABLE_SPRING" => "1")
    process = CliSpecProcess.new([Gem.bin_path("bundler", "bundle"), "exec", "racecar", *args],
                                 env: env, chdir: @app, log_dir: File.join(@app, "tmp"))
    processes << process
    process
  end

  def danced
    File.exist?(danced_path) ? File.readlines(danced_path, chomp: true) : []
  end

  it "runs both generators" do
    expect(@install).to be_success, @install.output
    expect(@generate).to be_success, @generate.output
    expect(@generate.stdout).to match(%r{create\s+app/consumers/tap_dance_consumer\.rb})
  end

  # One example: the run leaves the group's offsets committed, which the
  # --without-rails runs below rely on to have nothing to process.
  it "runs the generated consumer with Rails booted and config/racecar.yml used, then --without-rails does not boot Rails" do
    customize_app
    create_topic(@topic)
    produce_messages(@topic, %w[shuffle ball-change])

    consumer = racecar("TapDanceConsumer")
    ManualExamples.wait_until(timeout: 60, message: "messages processed\n#{consumer.describe}") do
      raise "racecar exited early\n#{consumer.describe}" unless consumer.running?

      danced.size == 2
    end
    consumer.signal("USR1")
    ManualExamples.wait_until(timeout: 10, message: "the SIGUSR1 dump\n#{consumer.describe}") do
      consumer.stderr.include?("client_id")
    end
    consumer.signal("TERM")
    expect(consumer.wait(timeout: 30)&.exitstatus).to eq(0), consumer.describe

    # The model, reached from process through Rails' autoloading.
    expect(danced).to eq(%w[shuffle ball-change])
    # Rails.logger writes the application's development log.
    development_log = File.read(File.join(@app, "log", "development.log"))
    expect(development_log).to include("TapDanceConsumer danced shuffle in development")
    # config/racecar.yml's development section: brokers, group and the app's name as client id.
    expect(consumer.stdout).to include("Group: #{@group}", "Brokers: #{brokers}")
    expect(consumer.stderr).to include('client_id = "demo_app"')
    # The generated process logs through Racecar.logger, which in development also reaches STDOUT.
    expect(consumer.stdout).to include("TapDanceConsumer got #{@topic}/0@1: \"ball-change\"")

    # Without Rails the app's autoloaded consumer is not found.
    unbooted = racecar("--without-rails", "TapDanceConsumer")
    expect(unbooted.wait(timeout: 30)&.exitstatus).to eq(1), unbooted.describe
    expect(unbooted.stderr).to include("Consumer class TapDanceConsumer is not defined")

    # Required by hand, it runs without Rails ever being loaded.
    File.write(File.join(@app, "tmp", "rails_probe.rb"), <<~RUBY)
      File.write(File.join(__dir__, "rails_probe.txt"), defined?(::Rails).inspect)
    RUBY
    plain = racecar("--without-rails", "--require", "./app/consumers/tap_dance_consumer",
                    "--require", "./tmp/rails_probe", "TapDanceConsumer")
    ManualExamples.wait_until(timeout: 30, message: "start without Rails\n#{plain.describe}") do
      raise "racecar exited early\n#{plain.describe}" unless plain.running?

      plain.stdout.include?("Starting TapDanceConsumer")
    end
    plain.signal("TERM")
    expect(plain.wait(timeout: 30)&.exitstatus).to eq(0), plain.describe
    expect(File.read(File.join(@app, "tmp", "rails_probe.txt"))).to eq("nil")
    expect(plain.stdout).to include("Group: #{@group}") # config/racecar.yml is still read
  end
end
