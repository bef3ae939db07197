# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# exe/racecar in a (minimal, real) Rails application: config/environment.rb
# is booted before the consumer class is looked up, unless --without-rails.
RSpec.describe "racecar in a Rails application (integration)", :kafka, :cli, :cli_integration do
  let(:environment_source) do
    <<~RUBY
      require "rails"

      module CliRailsApp
        class Application < Rails::Application
          config.root = File.expand_path("..", __dir__)
          config.eager_load = false
          config.logger = ActiveSupport::Logger.new(File.join(config.root, "log", "\#{Rails.env}.log"))
        end
      end
      Rails.application.initialize!

      # Defined by the application, so racecar needs no --require to find it.
      class CliRailsConsumer < Racecar::Consumer
        subscribes_to ENV.fetch("SPEC_TOPIC")

        def process(message)
          File.open(ENV.fetch("SPEC_OUTPUT"), "a") do |file|
            file.puts([Process.pid, message.partition, "\#{Rails.env}:\#{message.value}"].join(" "))
          end
        end
      end
    RUBY
  end

  around do |example|
    Dir.mktmpdir("racecar-cli-rails") do |dir|
      @app = dir
      FileUtils.mkdir_p(File.join(dir, "config"))
      FileUtils.mkdir_p(File.join(dir, "log"))
      File.write(File.join(dir, "config", "environment.rb"), environment_source)
      File.write(File.join(dir, "config", "racecar.yml"), <<~YAML)
        production:
          group_id: <%= ENV.fetch("SPEC_GROUP") %>-production
        development:
          group_id: <%= ENV.fetch("SPEC_GROUP") %>-development
      YAML
      example.run
    end
  end

  let(:topic) { unique_name("cli-rails") }
  let(:group) { unique_name("cli-rails-group") }
  let(:output) { File.join(@app, "consumed.txt") }

  def start(*args, rails_env:)
    start_racecar("--max-wait-time", "0.2", *args, "CliRailsConsumer", chdir: @app,
                  env: { "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output, "SPEC_GROUP" => group, "RAILS_ENV" => rails_env })
  end

  def consume_one(racecar)
    wait_until(timeout: 60, message: "message consumed\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      consumed(output).any?
    end
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  end

  it "boots Rails, finds the app's consumer, and in development logs to STDOUT and the Rails log" do
    produce_with_racecarctl(topic, "hello")
    racecar = start(rails_env: "development")
    consume_one(racecar)
    expect(consumed(output).first[:value]).to eq("development:hello")
    expect(racecar.stdout).to include("Group: #{group}-development")
    expect(File.read(File.join(@app, "log", "development.log"))).to include("Starting CliRailsConsumer")
  end

  it "uses the config/racecar.yml section for Rails.env and keeps the Rails log free of racecar's lines outside development" do
    produce_with_racecarctl(topic, "hello")
    racecar = start(rails_env: "production")
    consume_one(racecar)
    expect(consumed(output).first[:value]).to eq("production:hello")
    expect(racecar.stdout).to include("Group: #{group}-production")
    expect(File.read(File.join(@app, "log", "production.log"))).not_to include("Starting CliRailsConsumer")
  end

  it "does not boot Rails with --without-rails" do
    racecar = start("--without-rails", rails_env: "development")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(1)
    expect(racecar.stderr).to include("Consumer class CliRailsConsumer is not defined")
  end
end
