# frozen_string_literal: true

require "json"
require "tmpdir"
require "generators/racecar/consumer_generator"
require_relative "../../support/rails_app"

# Runs `bin/rails generate racecar:consumer TapDance` in a real Rails 6.1
# application, then loads the generated class there.
RSpec.describe "rails generate racecar:consumer" do
  before(:context) do
    @dir = Dir.mktmpdir("racecar-consumer")
    @app = RailsApp.copy(@dir)
    @result = RailsApp.rails(@app, "generate", "racecar:consumer", "TapDance")
  end

  after(:context) { FileUtils.remove_entry(@dir) }

  let(:consumer_path) { File.join(@app, "app", "consumers", "tap_dance_consumer.rb") }

  it "succeeds and creates app/consumers/tap_dance_consumer.rb" do
    expect(@result).to be_success, @result.output
    expect(@result.stdout).to match(%r{create\s+app/consumers/tap_dance_consumer\.rb})
    expect(File.file?(consumer_path)).to be(true)
  end

  it "writes a TapDanceConsumer subscribed to a placeholder topic with a process method" do
    source = File.read(consumer_path)

    expect(source).to start_with("# frozen_string_literal: true\n")
    expect(source).to include("class TapDanceConsumer < Racecar::Consumer")
    expect(source).to include('subscribes_to "tap-dance"')
    expect(source).to include("def process(message)")
  end

  it "generates a class that loads in the application and logs each message's value" do
    script = <<~RUBY
      require "json"
      require "logger"
      require "stringio"
      log = StringIO.new
      Racecar.config.logger = Logger.new(log)
      message = Struct.new(:topic, :partition, :offset, :key, :value, keyword_init: true)
                      .new(topic: "tap-dance", partition: 2, offset: 7, key: nil, value: "shuffle")
      TapDanceConsumer.new.process(message)
      puts JSON.generate(
        "superclass" => TapDanceConsumer.superclass.name,
        "topics" => TapDanceConsumer.subscriptions.map(&:topic),
        "log" => log.string
      )
    RUBY

    result = RailsApp.rails(@app, "runner", script)

    expect(result).to be_success, result.output
    report = JSON.parse(result.stdout.lines.last)
    expect(report.fetch("superclass")).to eq("Racecar::Consumer")
    expect(report.fetch("topics")).to eq(["tap-dance"])
    expect(report.fetch("log")).to include('TapDanceConsumer got tap-dance/2@7: "shuffle"')
  end
end

# Names other than the plain one, generated in-process into an empty folder.
RSpec.describe Racecar::Generators::ConsumerGenerator do
  around do |example|
    Dir.mktmpdir("racecar-consumer-names") do |dir|
      @dir = dir
      example.run
    end
  end

  def generate(*args)
    described_class.start([*args, "--quiet"], destination_root: @dir)
  end

  it "does not double the suffix when the name already ends in Consumer" do
    generate("TapDanceConsumer")

    expect(Dir.children(File.join(@dir, "app", "consumers"))).to eq(["tap_dance_consumer.rb"])
    expect(File.read(File.join(@dir, "app", "consumers", "tap_dance_consumer.rb")))
      .to include("class TapDanceConsumer < Racecar::Consumer")
  end

  it "puts a namespaced consumer in a sub-folder with a matching class and topic" do
    generate("Admin::TapDance")

    source = File.read(File.join(@dir, "app", "consumers", "admin", "tap_dance_consumer.rb"))
    expect(source).to include("class Admin::TapDanceConsumer < Racecar::Consumer")
    expect(source).to include('subscribes_to "admin-tap-dance"')
  end

  it "accepts a snake_case name" do
    generate("tap_dance")

    expect(File.read(File.join(@dir, "app", "consumers", "tap_dance_consumer.rb")))
      .to include("class TapDanceConsumer < Racecar::Consumer")
  end
end
