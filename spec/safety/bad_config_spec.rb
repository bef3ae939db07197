# frozen_string_literal: true

require "stringio"

# Configuration mistakes that spec/racecar/config_spec.rb and its neighbours
# (config/coercion, config/env_loader, config/validator, consumer_validation)
# and the command line specs (a consumer class that does not exist, unknown
# flags: cli_spec.rb, integration/cli_run_spec.rb) do not already cover. Each
# reaches the user as one clear error, at start, before anything connects to
# Kafka or any message is taken.
RSpec.describe "Bad configuration" do
  def runner_for(consumer_class, config)
    config.load_consumer_class(consumer_class)
    instrumenter = Racecar::Instrumenter.new(backend: nil)
    Racecar::Runner.new(consumer_class.new, config: config, logger: config.logger, instrumenter: instrumenter,
                                            producer: Racecar::Producer.new(config: config, logger: config.logger,
                                                                            instrumenter: instrumenter))
  end

  let(:config) do
    config = Racecar::Config.new(env: {})
    config.brokers = ["127.0.0.1:1"] # nothing listens: any attempt to connect would only time out
    config.logger = Logger.new(StringIO.new)
    config
  end

  def consumer_class(name = "BadConfigConsumer", additional_config: {}, &body)
    klass = Class.new(Racecar::Consumer) do
      subscribes_to "bad-config-topic", additional_config: additional_config
    end
    klass.class_eval(&body) if body
    stub_const(name, klass)
  end

  def time
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  end

  it "suggests the right key for a mistyped writer in config/racecar.rb" do
    expect { config.max_wait = 1 }.to raise_error(NoMethodError) { |error|
      expect(error.corrections).to eq([:max_wait_time=]) # what "Did you mean?" shows
    }
  end

  it "names a RACECAR_ variable holding text where a number belongs, and what it expected" do
    expect { Racecar::Config.new(env: { "RACECAR_MAX_WAIT_TIME" => "soon" }) }
      .to raise_error(Racecar::ConfigError, /max_wait_time.*RACECAR_MAX_WAIT_TIME.*"soon".*number of seconds/)
  end

  it "fails at start, in librdkafka's words, on an unknown property in the consumer list" do
    config.consumer = ["fetch.wait.max.msx=5"]
    processed = []
    klass = consumer_class { define_method(:process) { |message| processed << message } }

    elapsed = time do
      expect { runner_for(klass, config).run }
        .to raise_error(Racecar::ConfigError, 'librdkafka rejected property fetch.wait.max.msx: ' \
                                              'No such configuration property: "fetch.wait.max.msx"')
    end
    expect(elapsed).to be < 3
    expect(processed).to be_empty
  end

  it "fails at start, naming the property, on an invalid value in a subscription's additional_config" do
    klass = consumer_class(additional_config: { "fetch.wait.max.ms" => "soon" }) do
      define_method(:process) { |_message| nil }
    end

    expect { runner_for(klass, config).run }
      .to raise_error(Racecar::ConfigError, /librdkafka rejected property fetch\.wait\.max\.ms: Invalid value/)
  end

  it "refuses a consumer class without process before connecting, naming the class" do
    klass = consumer_class("NoProcessConsumer")

    elapsed = time do
      expect { runner_for(klass, config).run }
        .to raise_error(Racecar::ConfigError, "NoProcessConsumer must define #process(message) or #process_batch(messages)")
    end
    expect(elapsed).to be < 3
  end
end
