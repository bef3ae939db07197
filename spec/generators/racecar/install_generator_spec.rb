# frozen_string_literal: true

require "erb"
require "tmpdir"
require "yaml"
require "racecar/config"
require_relative "../../support/rails_app"

# Runs `bin/rails generate racecar:install` in a real Rails 6.1 application.
RSpec.describe "rails generate racecar:install" do
  before(:context) do
    @dir = Dir.mktmpdir("racecar-install")
    @app = RailsApp.copy(@dir)
    @result = RailsApp.rails(@app, "generate", "racecar:install")
  end

  after(:context) { FileUtils.remove_entry(@dir) }

  let(:config_path) { File.join(@app, "config", "racecar.yml") }

  def sections(env = {})
    saved = env.to_h { |key, _| [key, ENV.fetch(key, nil)] }
    env.each { |key, value| ENV[key] = value }
    YAML.safe_load(ERB.new(File.read(config_path)).result, aliases: true)
  ensure
    saved.each { |key, value| ENV[key] = value }
  end

  it "succeeds and says what it created" do
    expect(@result).to be_success, @result.output
    expect(@result.stdout).to match(%r{create\s+config/racecar\.yml})
    expect(@result.stdout).to match(%r{create\s+app/consumers/\.keep})
  end

  it "writes a common section with the application's name as client id and a local broker" do
    expect(File.read(config_path)).to include("common: &common")
    expect(sections.fetch("common")).to eq("client_id" => "demo_app", "brokers" => ["localhost:9092"])
  end

  it "gives development and test the common settings" do
    expect(sections.fetch("development")).to eq("client_id" => "demo_app", "brokers" => ["localhost:9092"])
    expect(sections.fetch("test")).to eq("client_id" => "demo_app", "brokers" => ["localhost:9092"])
  end

  it "takes production's brokers from RACECAR_BROKERS" do
    production = sections("RACECAR_BROKERS" => "kafka1:9092, kafka2:9092").fetch("production")

    expect(production).to eq("client_id" => "demo_app", "brokers" => ["kafka1:9092", "kafka2:9092"])
  end

  it "still loads in production without RACECAR_BROKERS" do
    production = sections("RACECAR_BROKERS" => nil).fetch("production")

    expect(production.fetch("brokers")).to eq(["localhost:9092"])
  end

  it "is read by Racecar::Config for each environment" do
    %w[development test production].each do |environment|
      config = Racecar::Config.new(env: {})
      config.load_file(config_path, environment)

      expect([environment, config.client_id, config.brokers]).to eq([environment, "demo_app", ["localhost:9092"]])
    end
  end

  it "creates app/consumers with a .keep file" do
    expect(File.directory?(File.join(@app, "app", "consumers"))).to be(true)
    expect(File.file?(File.join(@app, "app", "consumers", ".keep"))).to be(true)
  end
end
