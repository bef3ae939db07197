# frozen_string_literal: true

require "json"
require "open3"
require "rbconfig"
require "timeout"

# Helpers for spec/integration/manual_examples_spec.rb, which runs the user
# manual's code examples. The examples live, as the manual prints them, in
# spec/integration/manual/*.rb; only topic names are swapped for unique ones
# when they are loaded, so the files stay readable next to the manual.
module ManualExamples
  ROOT = File.expand_path("../..", __dir__)
  FIXTURES = File.join(ROOT, "spec", "integration", "manual")
  RACECAR = File.join(ROOT, "exe", "racecar")

  module_function

  # The example's source with each `from => to` replacement applied. Every
  # replacement must match: a fixture that drifted from the spec fails here
  # instead of silently using a shared topic.
  def source(name, replacements = {})
    text = File.read(fixture_path(name))
    replacements.each do |from, to|
      raise ArgumentError, "#{name}.rb does not contain #{from.inspect}" unless text.include?(from)

      text = text.gsub(from, to)
    end
    text
  end

  def fixture_path(name)
    File.join(FIXTURES, "#{name}.rb")
  end

  # Evaluates the example at the top level, as if the application had loaded
  # the file, and returns the top-level constants it defined.
  def load_example(name, replacements = {})
    before = Object.constants
    TOPLEVEL_BINDING.eval(source(name, replacements), fixture_path(name), 1)
    Object.constants - before
  end

  # Writes the example (with replacements) to dir, for a racecar subprocess
  # to --require.
  def write_example(name, dir, replacements = {})
    path = File.join(dir, "#{name}.rb")
    File.write(path, source(name, replacements))
    path
  end

  # kcat reads the whole topic and exits: an outside view of what reached the
  # broker. Returns one Hash per message (topic, partition, offset, key,
  # payload, headers as a flat [k, v, ...] list).
  def kcat_messages(brokers, topic)
    out, err, status = Open3.capture3("kcat", "-b", brokers, "-C", "-t", topic, "-e", "-J", "-q")
    raise "kcat failed (#{status.exitstatus}): #{err}" unless status.success?

    out.each_line.map { |line| JSON.parse(line) }
  end

  # Offsets the group committed for topic/partitions, read with a consumer
  # that never joins the group: { partition => offset or nil }.
  def committed_offsets(brokers, group_id, topic, partitions)
    reader = Racecar::Native::Consumer.new({ "bootstrap.servers" => brokers, "group.id" => group_id })
    begin
      reader.committed({ topic => Array(partitions) }, 10).fetch(topic)
    ensure
      reader.close
    end
  end

  def wait_until(timeout: 30, message: "condition")
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (result = yield)
      raise "timed out after #{timeout}s waiting for #{message}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    result
  end

  # Runs the block with `config` as Racecar.config (so Racecar.configure,
  # Racecar.config.on_error and Racecar.produce_* act on it), then puts the
  # previous configuration back and closes the producer built meanwhile.
  def with_racecar_config(config)
    previous = Racecar.instance_variable_get(:@config)
    Racecar.config = config
    yield config
  ensure
    Racecar.config = previous
  end

  # Variables an outer `bundle exec` or the spec's own environment would leak
  # into a subprocess that must see only what the example sets.
  CLEAN_ENV = {
    "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_GEMFILE" => nil, "BUNDLE_BIN_PATH" => nil,
    "BUNDLER_SETUP" => nil, "BUNDLER_VERSION" => nil, "RAILS_ENV" => nil, "RACK_ENV" => nil
  }.freeze

  # Racecar's own variables must not leak into subprocesses either.
  def clean_env(env)
    racecar = ENV.keys.grep(/\ARACECAR_/).to_h { |key| [key, nil] }
    CLEAN_ENV.merge(racecar).merge(env)
  end
end
