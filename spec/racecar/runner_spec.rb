# frozen_string_literal: true

require_relative "../support/consumer_helpers"

RSpec.describe Racecar::Runner do
  # Nothing listens here: a refused connection fails fast.
  def offline_config(**settings)
    config = Racecar::Config.new(env: {})
    config.brokers = ["127.0.0.1:1"]
    config.logger = Logger.new(File::NULL)
    settings.each { |key, value| config.public_send("#{key}=", value) }
    config
  end

  def runner_for(consumer, config)
    instrumenter = Racecar::Instrumenter.new(backend: nil)
    described_class.new(consumer, config: config, logger: config.logger, instrumenter: instrumenter,
                                  producer: Racecar::Producer.new(config: config, logger: config.logger,
                                                                  instrumenter: instrumenter))
  end

  def consumer_class(name, &body)
    klass = Class.new(Racecar::Consumer)
    stub_const(name, klass)
    klass.subscribes_to("events")
    klass.class_eval(&body)
    klass
  end

  it "is what Racecar.runner returns for a consumer instance, running it with Racecar.config" do
    klass = consumer_class("RunnableConsumer") { def process(message); end }
    runner = Racecar.runner(klass.new)
    expect(runner).to be_a(described_class).and(respond_to(:run, :stop))
    expect(runner.config).to be(Racecar.config)
  end

  describe "#run with a consumer class that cannot work" do
    it "fails before connecting when process takes the wrong arguments, naming class and method" do
      klass = consumer_class("ArityConsumer") { def process(message, extra); end }
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { runner_for(klass.new, offline_config).run }
        .to raise_error(Racecar::ConfigError, /ArityConsumer#process must take exactly one argument/)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
    end

    it "fails when the class defines neither process nor process_batch" do
      klass = consumer_class("EmptyConsumer") { nil }
      expect { runner_for(klass.new, offline_config).run }
        .to raise_error(Racecar::ConfigError, /EmptyConsumer must define #process\(message\) or #process_batch/)
    end

    it "does not call teardown, since the consumer never ran" do
      torn_down = []
      klass = consumer_class("NeverRunConsumer") { define_method(:teardown) { torn_down << true } }
      expect { runner_for(klass.new, offline_config).run }.to raise_error(Racecar::ConfigError)
      expect(torn_down).to be_empty
    end
  end

  describe "group id" do
    def group_id_after_run(klass, config)
      runner = runner_for(klass.new, config)
      runner.stop # returns at once: the loop never starts
      runner.run
      config.group_id
    end

    it "derives the group id from the class name when the class sets none" do
      klass = consumer_class("BaconConsumer") { def process(message); end }
      expect(group_id_after_run(klass, offline_config)).to eq("bacon-consumer")
    end

    it "puts group_id_prefix in front of a derived group id" do
      klass = consumer_class("Kitchen::BaconConsumer") { def process(message); end }
      expect(group_id_after_run(klass, offline_config(group_id_prefix: "staging."))).to eq("staging.kitchen::bacon-consumer")
    end

    it "uses the class's own group_id as it is" do
      klass = consumer_class("EggsConsumer") do
        self.group_id = "breakfast"
        def process(message); end
      end
      expect(group_id_after_run(klass, offline_config(group_id_prefix: "staging."))).to eq("breakfast")
    end
  end

  it "calls teardown once when stopped, even if the loop never started" do
    calls = []
    klass = consumer_class("TidyConsumer") do
      define_method(:process) { |_message| nil }
      define_method(:teardown) { calls << :teardown }
    end
    runner = runner_for(klass.new, offline_config)
    runner.stop
    runner.run
    expect(calls).to eq([:teardown])
  end

  it "says it is stopping once stop was called" do
    klass = consumer_class("StoppingConsumer") { def process(message); end }
    runner = runner_for(klass.new, offline_config)
    expect { runner.stop }.to change(runner, :stopping?).from(false).to(true)
  end
end
