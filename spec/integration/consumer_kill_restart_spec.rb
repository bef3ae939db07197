# frozen_string_literal: true

require "rbconfig"
require "tmpdir"
require_relative "../support/consumer_helpers"

# At-least-once across a crash: a consumer process killed with SIGKILL in the
# middle of a stream, then started again in the same group, ends up having
# processed every message; only the tail after its last commit is repeated.
RSpec.describe "Consumer killed and restarted", :kafka do
  CHILD = <<~RUBY
    $LOAD_PATH.unshift(ENV.fetch("SPEC_RACECAR_LIB"))
    require "racecar"

    class KillRestartConsumer < Racecar::Consumer
      subscribes_to ENV.fetch("SPEC_TOPIC")
      self.group_id = ENV.fetch("SPEC_GROUP")
      self.fetch_messages = 50

      def initialize
        @out = File.open(ENV.fetch("SPEC_OUT"), "a")
        @out.sync = true
      end

      def process(message)
        @out.write("\#{message.partition}:\#{message.offset}\\n")
        sleep 0.001
      end
    end

    Racecar.configure do |config|
      config.brokers = [ENV.fetch("SPEC_BROKERS")]
      config.max_wait_time = 0.2
      config.session_timeout = 3
      config.heartbeat_interval = 0.5
      config.offset_commit_interval = 0.5
      config.logger = Logger.new(File::NULL)
    end
    runner = Racecar.runner(KillRestartConsumer.new)
    trap("TERM") { runner.stop }
    runner.run
  RUBY

  around do |example|
    Dir.mktmpdir("racecar-kill") do |dir|
      @dir = dir
      example.run
    end
  end

  def spawn_consumer(env)
    script = File.join(@dir, "consumer.rb")
    File.write(script, CHILD)
    Process.spawn(env, RbConfig.ruby, script, %i[out err] => File.join(@dir, "child.log"))
  end

  def lines(path)
    File.exist?(path) ? File.readlines(path, chomp: true) : []
  end

  def wait_for_exit(pid, timeout)
    Timeout.timeout(timeout) { Process.wait2(pid).last }
  end

  it "processes every message at least once after a SIGKILL mid-stream and a restart" do
    topic = create_topic(partitions: 3)
    total = 3000
    produce_messages(topic, (0...total).map { |i| { value: i.to_s, partition: i % 3 } })
    out = File.join(@dir, "processed.txt")
    env = { "SPEC_RACECAR_LIB" => File.expand_path("../../lib", __dir__), "SPEC_TOPIC" => topic,
            "SPEC_GROUP" => unique_name("group"), "SPEC_OUT" => out, "SPEC_BROKERS" => brokers }

    first = spawn_consumer(env)
    begin
      eventually(message: "the first process to get going", timeout: 30, watch: []) { lines(out).size >= 800 }
    ensure
      Process.kill("KILL", first)
      wait_for_exit(first, 10)
    end
    before_kill = lines(out).size
    expect(before_kill).to be < total

    second = spawn_consumer(env)
    begin
      eventually(message: "every message", timeout: 60, watch: []) { lines(out).uniq.size >= total }
    ensure
      Process.kill("TERM", second)
      status = wait_for_exit(second, 20)
    end
    expect(status.exitstatus).to eq(0)

    processed = lines(out)
    expected = (0...total).map { |i| "#{i % 3}:#{i / 3}" }
    lost = expected - processed
    duplicates = processed.size - processed.uniq.size
    expect(lost).to be_empty
    expect(processed.uniq.size).to eq(total)
    # The restart resumed from what the first process committed, not from the start.
    expect(duplicates).to be < before_kill
    puts "\n  SIGKILL after #{before_kill} of #{total}: #{duplicates} processed twice, #{lost.size} lost" if ENV["SPEC_LOG"]
  end
end
