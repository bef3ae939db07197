# frozen_string_literal: true

require "json"
require "tmpdir"
require "yaml"
require_relative "../support/manual_examples"
require_relative "../support/cli"

# Every code example of the user manual (racecar-README-latest.txt), run as
# written against the real broker. The examples are in spec/integration/manual/
# as the manual prints them; only topic names are made unique, the manual's
# own mistakes are fixed as README.md says, and the things the manual pretends
# exist (User, PushService, GeoCode, ...) are small in-memory stand-ins.
RSpec.describe "The user manual's examples (integration)", :kafka do
  include ManualExamples

  around do |example|
    @defined = []
    example.run
  ensure
    @defined.each { |name| Object.send(:remove_const, name) if Object.const_defined?(name, false) }
  end

  def load_example(name, replacements = {})
    defined = ManualExamples.load_example(name, replacements)
    @defined.concat(defined)
    defined
  end

  # Fast group settings, and a group id derived from the class name with a
  # unique prefix (BaconConsumer -> "<prefix>.bacon-consumer").
  def example_config(**overrides)
    spec_config(group_id_prefix: "#{unique_name('manual')}.", **overrides)
  end

  # What the example consumers record (for those whose manual body does
  # nothing observable on its own).
  let(:processed) { Queue.new }

  def drain(queue)
    items = []
    items << queue.pop until queue.empty?
    items
  end

  describe "Creating consumers: UserBanConsumer" do
    it "parses the JSON value and bans the user it names" do
      users = {}
      user_class = Class.new do
        attr_accessor :id, :banned, :saved

        define_singleton_method(:find) { |id| users.fetch(id) }

        def initialize(id)
          @id = id
          @banned = false
          @saved = false
        end

        def save!
          @saved = banned
        end
      end
      stub_const("User", user_class)
      users[7] = User.new(7)
      users[8] = User.new(8)
      topic = create_topic
      load_example("user_ban_consumer", '"user_banned"' => topic.inspect)
      produce_messages(topic, [JSON.dump("user_id" => 7)])

      run_consumer(UserBanConsumer.new, config: example_config) { users[7].saved }

      expect([users[7].banned, users[7].saved]).to eq([true, true])
      expect(users[8].banned).to be(false)
    end
  end

  describe "Running consumers in parallel: ParallelProcessingConsumer" do
    it "accepts self.parallel_workers = 5 and the class's configuration picks it up" do
      load_example("parallel_processing_consumer", '"some-topic"' => '"manual-parallel"')
      config = example_config

      config.load_consumer_class(ParallelProcessingConsumer)

      expect(ParallelProcessingConsumer.parallel_workers).to eq(5)
      expect(config.parallel_workers).to eq(5)
    end

    it "runs as five processes in one group when started with `racecar`", :cli, :cli_integration do
      topic = create_topic(partitions: 5)
      Dir.mktmpdir("manual-parallel") do |dir|
        ManualExamples.write_example("parallel_processing_consumer", dir, '"some-topic"' => topic.inspect)
        output = File.join(dir, "processed.txt")
        racecar = start_racecar("--require", "./parallel_processing_consumer", "--max-wait-time", "0.2",
                                "--group-id", unique_name("manual-parallel"), "ParallelProcessingConsumer",
                                env: { "MANUAL_OUTPUT" => output }, chdir: dir)
        # The first worker to join may take every partition for a moment, so keep
        # producing a message to each partition until, once the group has
        # settled, five different workers have processed messages.
        round = 0
        lines = wait_until(timeout: 60, message: "five workers processing\n#{racecar.describe}") do
          raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

          produce_messages(topic, Array.new(5) { |p| { value: "r#{round}", partition: p } })
          round += 1
          sleep 0.3
          rows = File.exist?(output) ? File.readlines(output).map(&:split) : []
          rows if rows.map(&:first).uniq.size == 5
        end

        expect(racecar.stdout).to include("Parallel workers: 5")
        expect(lines.map(&:first)).not_to include(racecar.pid.to_s) # the parent only supervises
        expect(lines.map { |row| row[1] }.uniq.sort).to eq(%w[0 1 2 3 4])
        racecar.signal("TERM")
        expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
      end
    end
  end

  describe "Initializing consumers: PushNotificationConsumer" do
    it "is built with an initialize that takes no arguments and uses what it set up" do
      notifications = []
      push_service = Class.new do
        define_method(:notify!) { |recipient:, notification:| notifications << [recipient, notification] }
      end
      stub_const("PushService", push_service)
      topic = create_topic
      load_example("push_notification_consumer", '"notifications"' => topic.inspect)
      produce_messages(topic, [JSON.dump("recipient" => "dude", "notification" => "rug stolen")])

      run_consumer(PushNotificationConsumer.new, config: example_config) { notifications.any? }

      expect(notifications).to eq([["dude", "rug stolen"]])
    end
  end

  describe "Setting the starting position: start_from_beginning: false" do
    it "makes a new group skip what was in the topic before it started" do
      stub_const("Processed", processed)
      topic = create_topic
      load_example("start_from_end_consumer", '"some-topic"' => topic.inspect)
      produce_messages(topic, ["before-start"])
      seen = []
      sent = 0
      last_sent = -Float::INFINITY

      run_consumer(StartFromEndConsumer.new, config: example_config) do
        seen.concat(drain(processed))
        # The end of the partition is only looked up once the group assigned
        # it, so keep producing (twice a second) until a later message arrives.
        now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        if seen.empty? && now - last_sent >= 0.5
          produce_messages(topic, ["after-start-#{sent += 1}"])
          last_sent = now
        end
        seen.any?
      end

      expect(seen).not_to include("before-start")
      expect(seen.first).to start_with("after-start-")
    end
  end

  describe "Processing messages in batches: ArchiveEventsConsumer" do
    it "writes each batch to a file named topic-partition-first-last" do
      topic = create_topic
      values = %w[alpha bravo charlie delta]
      load_example("archive_events_consumer", '"events"' => topic.inspect)
      produce_messages(topic, values.map { |value| { value: value, partition: 0 } })

      Dir.mktmpdir("manual-archive-events") do |dir|
        Dir.chdir(dir) do
          run_consumer(ArchiveEventsConsumer.new, config: example_config) do
            Dir["#{topic}-0-*"].any? { |name| name.end_with?("-3") }
          end

          files = Dir["#{topic}-0-*"].sort_by { |name| name.split("-")[-2].to_i }
          ranges = files.map { |name| name.delete_prefix("#{topic}-0-").split("-").map(&:to_i) }
          expect(ranges.first.first).to eq(0)
          expect(ranges.last.last).to eq(3)
          ranges.each_cons(2) { |(_, last), (first, _)| expect(first).to eq(last + 1) }
          expect(files.map { |name| File.read(name) }.join).to eq(values.join)
        end
      end
    end
  end

  describe "Message headers" do
    it "gives message.headers as a Hash; a header produced as 42 comes back as the String \"42\"" do
      stub_const("Processed", processed)
      topic = create_topic
      load_example("headers_consumer", '"headers"' => topic.inspect)
      with_racecar_config(spec_config) do
        Racecar.produce_sync(value: "with headers", topic: topic, headers: { "Header-A" => 42, "Header-B" => "b" })
      end
      seen = []

      run_consumer(HeadersConsumer.new, config: example_config) do
        seen.concat(drain(processed))
        seen.any?
      end

      expect(seen).to eq([{ "Header-A" => "42", "Header-B" => "b" }])
    end
  end

  describe "Tearing down resources when stopping: ArchiveConsumer" do
    it "appends to the file opened in initialize and closes it in teardown" do
      topic = create_topic
      load_example("archive_consumer", '"events"' => topic.inspect)
      produce_messages(topic, %w[one two three])

      Dir.mktmpdir("manual-archive") do |dir|
        Dir.chdir(dir) do
          consumer = ArchiveConsumer.new
          file = consumer.instance_variable_get(:@file)
          still_open_while_running = nil
          run_consumer(consumer, config: example_config) do
            file.flush
            still_open_while_running = !file.closed?
            File.read("archive") == "onetwothree"
          end

          expect(still_open_while_running).to be(true)
          expect(file).to be_closed
          expect(File.read("archive")).to eq("onetwothree")
        end
      end
    end
  end

  describe "Producing messages: GeoCodingConsumer" do
    it "produces the enriched pageview to the other topic, keyed by the pageview's id" do
      geo_code = Module.new do
        def self.lookups
          @lookups ||= Queue.new
        end

        def self.country(ip_address)
          lookups << ip_address
          ip_address.start_with?("80.") ? "DK" : "US"
        end
      end
      stub_const("GeoCode", geo_code)
      pageviews = create_topic
      with_country = create_topic
      load_example("geo_coding_consumer", '"pageviews"' => pageviews.inspect,
                                          '"pageviews-with-country"' => with_country.inspect)
      input = [{ "id" => "pv-1", "ip_address" => "80.1.2.3" }, { "id" => "pv-2", "ip_address" => "8.8.8.8" }]
      produce_messages(pageviews, input.map { |pageview| JSON.dump(pageview) })

      run_consumer(GeoCodingConsumer.new, config: example_config) { GeoCode.lookups.size == 2 }

      produced = ManualExamples.kcat_messages(brokers, with_country)
      expect(produced.map { |m| [m["key"], JSON.parse(m["payload"])] }).to eq(
        [["pv-1", { "id" => "pv-1", "ip_address" => "80.1.2.3", "country" => "DK" }],
         ["pv-2", { "id" => "pv-2", "ip_address" => "8.8.8.8", "country" => "US" }]]
      )
    end
  end

  describe "Standalone Producer" do
    let(:comments) { create_topic }
    let(:activity) { create_topic }
    let(:topic_names) { { '"comments"' => comments.inspect, '"activity"' => activity.inspect } }

    # A controller base class with what the examples use of Rails.
    let(:application_controller) do
      Class.new do
        attr_reader :params, :current_user

        def initialize(params:, current_user:)
          @params = params
          @current_user = current_user
        end
      end
    end

    let(:comment_class) do
      Struct.new(:id, :body) do
        def self.create!(params)
          new(params.fetch(:id), params.fetch(:body))
        end

        def self.find(id)
          new(id, "found")
        end

        def to_json(*args)
          to_h.to_json(*args)
        end
      end
    end

    let(:user) { Struct.new(:id).new(99) }

    before do
      stub_const("ApplicationController", application_controller)
      stub_const("Comment", comment_class)
    end

    around { |example| with_racecar_config(spec_config) { example.run } }

    def payloads(topic)
      ManualExamples.kcat_messages(brokers, topic).map { |m| JSON.parse(m["payload"]) }
    end

    it "produce_sync(value:, topic:) has delivered the comment when it returns" do
      load_example("comments_controller_sync", '"comments"' => comments.inspect)

      CommentsController.new(params: { id: 1, body: "nice" }, current_user: user).create

      expect(payloads(comments)).to eq([{ "id" => 1, "body" => "nice" }])
    end

    it "produce_async(value:, topic:) delivers the event in the background" do
      load_example("comments_controller_async", '"activity"' => activity.inspect)

      CommentsController.new(params: { id: 5 }, current_user: user).show

      event = { "name" => "comment_viewed", "data" => { "comment_id" => 5, "user_id" => 99 } }
      arrived = ManualExamples.wait_until(timeout: 20, message: "the async event") do
        (messages = payloads(activity)).any? && messages
      end
      expect(arrived).to eq([event])
    end

    it "wait_for_delivery with positional produce_async values has delivered both when it returns" do
      load_example("comments_controller_wait", topic_names)

      CommentsController.new(params: { id: 2, body: "hm" }, current_user: user).create

      expect(payloads(comments)).to eq([{ "id" => 2, "body" => "hm" }])
      expect(payloads(activity)).to eq([{ "name" => "comment_created", "data" => { "comment_id" => 2, "user_id" => 99 } }])
    end
  end

  describe "Configuration in Ruby: Racecar.configure" do
    it "sets the brokers the consumer then uses" do
      stub_const("ServiceDiscovery", Module.new { def self.find(_name) = [KafkaHelpers::BROKERS] })
      stub_const("Processed", processed)
      topic = create_topic
      load_example("start_from_end_consumer", '"some-topic"' => topic.inspect,
                                              "start_from_beginning: false" => "start_from_beginning: true")
      produce_messages(topic, ["configured"])

      # Start from brokers nobody listens on: only the example's block can fix them.
      with_racecar_config(example_config(brokers: ["127.0.0.1:1"])) do
        load_example("racecar_configure")
        expect(Racecar.config.brokers).to eq([KafkaHelpers::BROKERS])

        run_consumer(StartFromEndConsumer.new, config: Racecar.config) { processed.size == 1 }
      end
      expect(processed.pop).to eq("configured")
    end

    it "accepts partition_assignment_strategy = \"cooperative-sticky\" and consumes with it" do
      stub_const("Processed", processed)
      topic = create_topic(partitions: 3)
      load_example("start_from_end_consumer", '"some-topic"' => topic.inspect,
                                              "start_from_beginning: false" => "start_from_beginning: true")
      produce_messages(topic, Array.new(3) { |p| { value: "p#{p}", partition: p } })

      with_racecar_config(example_config) do
        load_example("cooperative_sticky")
        expect(Racecar.config.rdkafka_consumer["partition.assignment.strategy"]).to eq("cooperative-sticky")

        run_consumer(StartFromEndConsumer.new, config: Racecar.config) { processed.size == 3 }
      end
      expect(drain(processed).sort).to eq(%w[p0 p1 p2])
    end
  end

  describe "Handling errors" do
    it "calls the Racecar.config.on_error handler with the topic, partition and offset, then retries" do
      reports = Queue.new
      stub_const("MyErrorTracker", Module.new { define_singleton_method(:report) { |e, context| reports << [e, context] } })
      stub_const("Processed", processed)
      failing = Class.new(Racecar::Consumer) do
        def process(message)
          @failed ||= false
          if message.value == "flaky" && !@failed
            @failed = true
            raise IOError, "database unavailable"
          end
          Processed << message.value
        end
      end
      stub_const("FlakyManualConsumer", failing)
      topic = create_topic
      FlakyManualConsumer.subscribes_to(topic)
      produce_messages(topic, %w[fine flaky])

      with_racecar_config(example_config) do
        load_example("error_handler")
        run_consumer(FlakyManualConsumer.new, config: Racecar.config) { processed.size == 2 }
      end

      exception, context = reports.pop
      expect(reports).to be_empty
      expect([exception.class, exception.message]).to eq([IOError, "database unavailable"])
      expect(context).to eq(topic: topic, partition: 0, offset: 1)
      expect(drain(processed)).to eq(%w[fine flaky])
    end

    it "skips a message whose JSON::ParserError process rescues, and counts it as processed" do
      stub_const("Processed", processed)
      topic = create_topic
      load_example("skipping_consumer", '"events"' => topic.inspect)
      produce_messages(topic, ["{not json", JSON.dump("ok" => true)])
      config = example_config
      handled = []
      config.on_error { |exception, _info| handled << exception }

      expect do
        run_consumer(SkippingConsumer.new, config: config) { processed.size == 1 }
      end.to output(/\AFailed to process message in #{topic}\/0 at offset 0: /).to_stdout

      expect(processed.pop).to eq("ok" => true)
      expect(handled).to eq([])
      expect(ManualExamples.committed_offsets(brokers, config.group_id, topic, 0)).to eq(0 => 2)
    end
  end

  describe "Deploying to Kubernetes" do
    def env_of(deployment)
      containers = YAML.safe_load(deployment).dig("spec", "template", "spec", "containers")
      containers.first.fetch("env").to_h { |pair| [pair.fetch("name"), pair.fetch("value").to_s] }
    end

    it "takes RACECAR_BROKERS and RACECAR_OFFSET_COMMIT_INTERVAL from the Deployment's env" do
      env = env_of(<<~YAML)
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: my-racecar-deployment
          labels:
            app: my-racecar
        spec:
          replicas: 4 # <-- this is a good value if you have a multliple of 4 partitions
          selector:
            matchLabels:
              app: my-racecar
          strategy:
            type: Recreate # <-- this is the important part.
          template:
            metadata:
              labels:
                app: my-racecar
            spec:
              containers:
                - name: my-racecar
                  image: my-racecar-image
                  command: ["bundle", "exec", "racecar", "MyConsumer"]
                  env: # <-- you can configure the consumer using environment variables!
                    - name: RACECAR_BROKERS
                      value: kafka1,kafka2,kafka3
                    - name: RACECAR_OFFSET_COMMIT_INTERVAL
                      value: 5
      YAML

      config = Racecar::Config.new(env: env)

      expect(config.brokers).to eq(%w[kafka1 kafka2 kafka3])
      expect(config.offset_commit_interval).to eq(5)
      expect(config.rdkafka_consumer).to include("bootstrap.servers" => "kafka1,kafka2,kafka3",
                                                 "auto.commit.interval.ms" => "5000")
    end

    it "takes the liveness probe settings from the probe example's env" do
      env = env_of(<<~YAML)
        apiVersion: apps/v1
        kind: Deployment
        spec:
          template:
            spec:
              containers:
                - name: consumer
                  args:
                    - racecar
                    - SomeConsumer
                  env:
                    # Skip config loading to run fast, only the following values are needed
                    - name: RACECAR_LIVENESS_PROBE_SKIP_CONFIG_FILES
                      value: "true"
                    - name: RACECAR_LIVENESS_PROBE_ENABLED
                      value: "true"
                    - name: RACECAR_LIVENESS_PROBE_FILE_PATH
                      value: "/tmp/racecar-liveness"
                    - name: RACECAR_LIVENESS_PROBE_MAX_INTERVAL
                      value: "5"
      YAML

      config = Racecar::Config.new(env: env)

      expect([config.liveness_probe_skip_config_files, config.liveness_probe_enabled,
              config.liveness_probe_file_path, config.liveness_probe_max_interval])
        .to eq([true, true, "/tmp/racecar-liveness", 5])
    end
  end

  describe "Deploying to Heroku: require \"racecar/heroku\"", :cli, :cli_integration do
    let(:certs) { KafkaHelpers::CERTS }

    it "consumes over SSL from KAFKA_URL with the certificates from the Heroku variables" do
      topic = create_topic
      produce_messages(topic, ["via-heroku"])
      Dir.mktmpdir("manual-heroku") do |dir|
        ManualExamples.write_example("some_consumer", dir, '"heroku-topic"' => topic.inspect)
        output = File.join(dir, "consumed.txt")
        env = ManualExamples.clean_env(
          "KAFKA_URL" => "kafka+ssl://#{KafkaHelpers::SSL_BROKERS}",
          "KAFKA_TRUSTED_CERT" => File.read(File.join(certs, "ca.pem")),
          "KAFKA_CLIENT_CERT" => File.read(File.join(certs, "client.pem")),
          "KAFKA_CLIENT_CERT_KEY" => File.read(File.join(certs, "client.key")),
          "MANUAL_OUTPUT" => output
        )
        racecar = CliSpecProcess.new([ManualExamples::RACECAR, "--require", "./some_consumer", "--max-wait-time", "0.2",
                                      "--group-id", unique_name("manual-heroku"), "SomeConsumer"],
                                     env: env, chdir: dir, log_dir: dir)
        racecar_processes << racecar
        ManualExamples.wait_until(timeout: 60, message: "the message consumed over SSL\n#{racecar.describe}") do
          raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

          File.exist?(output) && File.read(output) == "via-heroku\n"
        end

        expect(racecar.stdout).to include("Brokers: #{KafkaHelpers::SSL_BROKERS}")
        racecar.signal("TERM")
        expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
      end
    end
  end
end

# "Testing consumers": the manual's spec, run in this process without a
# broker. CreateContactsConsumer must exist when the spec is defined, as it
# would in a Rails app that autoloads app/consumers.
ManualExamples.load_example("create_contacts_consumer")

RSpec.describe "The user manual's Testing consumers example" do
  # The Contact model the example pretends exists.
  let(:contact_class) do
    Class.new do
      relation = Struct.new(:records) do
        def exists?
          !records.empty?
        end
      end

      @records = []
      define_singleton_method(:create!) { |email:| @records << { email: email } }
      define_singleton_method(:where) do |**conditions|
        relation.new(@records.select { |record| conditions.all? { |key, value| record[key] == value } })
      end
    end
  end

  before { stub_const("Contact", contact_class) }

  after(:context) { Object.send(:remove_const, :CreateContactsConsumer) }

  # spec/consumers/create_contacts_consumer_spec.rb, as the manual writes it
  # (the address is the manual's, as published).
  describe CreateContactsConsumer do
    it "creates a Contact for each email address in the topic" do
      message = double("message", value: "[email protected]")
      consumer = CreateContactsConsumer.new

      consumer.process(message)

      expect(Contact.where(email: "[email protected]")).to exist
    end
  end

  it "would notice a consumer that created no Contact" do
    expect(Contact.where(email: "[email protected]")).not_to exist
  end
end
