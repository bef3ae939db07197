# frozen_string_literal: true

require_relative "../../support/datadog_agent"

# Everything a DatadogAgent received so far, kept across reads, so a spec can
# wait for one metric without losing the ones that arrived before it.
class MetricLog
  attr_reader :metrics

  def initialize(agent)
    @agent = agent
    @metrics = []
  end

  # Reads what arrives within `timeout` seconds (until the socket is quiet
  # for `quiet` seconds); returns every metric seen so far.
  def drain(timeout: 1, quiet: 0.2)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      break if remaining <= 0

      arrived = @agent.metrics(datagrams: 1, timeout: [quiet, remaining].min)
      break if arrived.empty?

      @metrics.concat(arrived)
    end
    @metrics
  end

  # Waits until a metric named `name` (namespace included) arrived whose tags
  # include `tags` (and for which the block, if given, is true); returns it,
  # or raises after `timeout` seconds.
  def wait_for(name, tags: [], timeout: 30, &condition)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      found = find(name, tags, condition)
      return found if found
      raise "no #{name} #{tags.inspect} within #{timeout}s; seen: #{names.inspect}" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      @metrics.concat(@agent.metrics(datagrams: 1, timeout: 0.5))
    end
  end

  def named(name)
    @metrics.select { |metric| metric.name == name }
  end

  def names
    @metrics.map(&:name).uniq
  end

  private

  def find(name, tags, condition)
    @metrics.find do |metric|
      metric.name == name && (tags - metric.tags).empty? && (condition.nil? || condition.call(metric))
    end
  end
end
