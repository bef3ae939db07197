# frozen_string_literal: true

require "json"
require "tmpdir"
require_relative "../support/cli"
require_relative "../support/datadog_agent"

# A Racecar 2.12 application, written the way upstream's manual and apps
# write one, run unchanged by this racecar's exe/racecar against the real
# broker (issue 16's acceptance): a Rails app whose consumer in
# app/consumers has class-level rebalance hooks using topic_name and
# partition_numbers, an on_error handler in config/racecar.rb, and a
# config/racecar.yml with 2.12 keys (multi_subscription_strategy, the
# liveness probe, Datadog to a UDP port this spec listens on).
RSpec.describe "A Racecar 2.12 application", :kafka, :cli, :cli_integration do
  around do |example|
    Dir.mktmpdir("racecar-compat-app") do |dir|
      @app = dir
      example.run
    end
  end

  let(:agent) { DatadogAgent.udp }
  let(:input) { unique_name("compat-app-in") }
  let(:output_topic) { unique_name("compat-app-out") }
  let(:group) { unique_name("compat-app-group") }
  let(:liveness_file) { File.join(@app, "tmp", "racecar-liveness") }
  let(:env) do
    { "RAILS_ENV" => "production", "APP_TOPIC" => input, "APP_OUTPUT_TOPIC" => output_topic, "APP_GROUP" => group,
      "APP_DATADOG_PORT" => agent.port.to_s, "APP_LIVENESS_FILE" => liveness_file, "RACECAR_BROKERS" => nil }
  end

  after { agent.close }

  def write(path, text)
    full = File.join(@app, path)
    FileUtils.mkdir_p(File.dirname(full))
    File.write(full, text)
  end

  def write_app
    write("config/environment.rb", <<~RUBY)
      require "rails"

      module CompatApp
        class Application < Rails::Application
          config.root = File.expand_path("..", __dir__)
          config.eager_load = false
          config.logger = ActiveSupport::Logger.new(File.join(config.root, "log", "\#{Rails.env}.log"))
        end
      end
      Rails.application.initialize!
    RUBY
    write("log/.keep", "")
    write("tmp/.keep", "")
    write("app/consumers/uppercase_consumer.rb", <<~RUBY)
      class UppercaseConsumer < Racecar::Consumer
        subscribes_to ENV.fetch("APP_TOPIC")

        def self.on_partitions_assigned(event)
          record("assigned", event)
        end

        def self.on_partitions_revoked(event)
          record("revoked", event)
        end

        def self.record(what, event)
          line = [what, event.topic_name, event.partition_numbers.sort.join(","), event.empty?].join(" ")
          File.open(Rails.root.join("rebalances.txt"), "a") { |f| f.puts(line) }
        end

        def process(message)
          marker = Rails.root.join("poisoned-once")
          if message.value == "poison" && !File.exist?(marker)
            File.write(marker, "")
            raise ArgumentError, "cannot uppercase poison yet"
          end
          produce(message.value.upcase, topic: ENV.fetch("APP_OUTPUT_TOPIC"), key: message.key)
          File.open(Rails.root.join("processed.txt"), "a") { |f| f.puts(message.value) }
        end
      end
    RUBY
    write("config/racecar.rb", <<~RUBY)
      require "json"

      Racecar.configure do |config|
        config.on_error do |exception, info|
          File.open(File.expand_path("../errors.jsonl", __dir__), "a") do |f|
            f.puts(JSON.dump("exception" => exception.class.name, "info" => info&.transform_values(&:to_s)))
          end
        end
      end
    RUBY
    write("config/racecar.yml", <<~YAML)
      common: &common
        brokers:
          - #{CliIntegrationHelpers::BROKER}
        client_id: compat-app
        group_id: <%= ENV["APP_GROUP"] %>
        max_wait_time: 0.2
        pause_timeout: 1
        offset_commit_interval: 1
        session_timeout: 10
        heartbeat_interval: 2
        multi_subscription_strategy: round-robin
        liveness_probe_enabled: true
        liveness_probe_file_path: <%= ENV["APP_LIVENESS_FILE"] %>
        liveness_probe_max_interval: 5
        datadog_enabled: true
        datadog_host: 127.0.0.1
        datadog_port: <%= ENV["APP_DATADOG_PORT"] %>
        datadog_tags:
          - "app:compat"

      development:
        <<: *common

      production:
        <<: *common
    YAML
  end

  def read_lines(name)
    path = File.join(@app, name)
    File.exist?(path) ? File.readlines(path, chomp: true) : []
  end

  # Every metric line the agent received, waiting until nothing more comes.
  def all_metrics
    metrics = []
    loop do
      batch = agent.metrics(datagrams: 100, timeout: 1)
      break if batch.empty?

      metrics.concat(batch)
    end
    metrics
  end

  it "consumes, reports, probes and shuts down as under upstream 2.12" do
    create_topic(input, partitions: 2)
    create_topic(output_topic)
    write_app
    produce_messages(input, %w[hello poison world].map { |value| { value: value, partition: 0 } })

    racecar = start_racecar("UppercaseConsumer", env: env, chdir: @app)
    wait_until(timeout: 90, message: "three processed messages\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      read_lines("processed.txt").size == 3
    end
    expect(read_lines("processed.txt")).to eq(%w[hello world poison]).or eq(%w[hello poison world])

    # Upstream's start-up lines.
    stderr_lines = racecar.stderr.lines(chomp: true)
    expect(stderr_lines).to include("=> Starting Racecar consumer UppercaseConsumer...",
                                    "=> Detected Rails, booting application...", "=> Wrooooom!",
                                    "=> Ctrl-C to shutdown consumer", "=> Liveness probe enabled")

    # Class-level hooks with upstream's event API.
    expect(read_lines("rebalances.txt").first).to eq("assigned #{input} 0,1 false")

    # on_error from config/racecar.rb with upstream's keys.
    error = JSON.parse(read_lines("errors.jsonl").first)
    expect(error["exception"]).to eq("ArgumentError")
    expect(error["info"]).to include("consumer_class" => "UppercaseConsumer", "topic" => input, "partition" => "0",
                                     "value" => "poison", "retries_count" => "0",
                                     "unrecoverable_delivery_error" => "false")

    # The liveness probe, as Kubernetes runs it.
    expect(File.exist?(liveness_file)).to be(true)
    out, err, status = racecarctl("liveness_probe", env: env, chdir: @app)
    expect(status.exitstatus).to eq(0), "#{out}#{err}"

    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
    expect(read_lines("rebalances.txt").last).to eq("revoked #{input} 0,1 false")
    expect(File.exist?(liveness_file)).to be(false)

    # Upstream's Datadog metric names, types and tags.
    metrics = all_metrics
    by_name = metrics.group_by(&:name)
    expect(by_name.keys).to include("racecar.consumer.messages", "racecar.consumer.process_message.latency",
                                    "racecar.consumer.loop.duration", "racecar.consumer.join_group",
                                    "racecar.consumer.leave_group", "racecar.producer.produce.messages")
    expect(by_name.fetch("racecar.consumer.process_message.latency").map(&:type).uniq).to eq(["ms"])
    expect(by_name.fetch("racecar.consumer.join_group").map(&:type).uniq).to eq(["ms"])
    expect(by_name.fetch("racecar.consumer.loop.duration").map(&:type).uniq).to eq(["h"])
    processed = by_name.fetch("racecar.consumer.messages")
    expect(processed.sum(&:value)).to be >= 3
    expect(processed.first.tags).to include("app:compat", "client:compat-app", "group_id:#{group}",
                                            "topic:#{input}", "partition:0")
  end
end
