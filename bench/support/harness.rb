# frozen_string_literal: true

require "etc"
require "json"
require "fileutils"
require "securerandom"
require "timeout"

REPO_ROOT = File.expand_path("../..", __dir__)
$LOAD_PATH.unshift(File.join(REPO_ROOT, "lib"))

module Bench
  # What bench/consume and bench/produce share: the broker, the C programs,
  # topics made for one run and deleted after it, and child processes that
  # print one JSON line. Every measurement runs in its own process so its peak
  # RSS is its own and no state leaks from one measurement into the next.
  class Harness
    BENCH_DIR = File.join(REPO_ROOT, "bench")
    BIN_DIR = File.join(BENCH_DIR, "bin")
    LOG_DIR = File.join(REPO_ROOT, "tmp", "bench")
    EXTENSION = File.join(REPO_ROOT, "lib", "racecar", "racecar_native.so")

    attr_reader :messages, :message_size, :brokers, :repeat

    def initialize(env: ENV)
      @env = env
      @messages = Integer(env.fetch("BENCH_MESSAGES", "1000000"))
      @repeat = Integer(env.fetch("BENCH_REPEAT", "1"))
      @message_size = Integer(env.fetch("BENCH_MESSAGE_SIZE", "100"))
      @brokers = env.fetch("BENCH_BROKERS", "127.0.0.1:9092")
      @topics = []
      @run_id = "#{Time.now.strftime('%H%M%S')}-#{SecureRandom.hex(3)}"
    end

    def partition_counts(variable, default)
      @env.fetch(variable, default).split(",").map { |count| Integer(count) }
    end

    # Broker up, C programs built, extension present. Stale extensions are
    # benchmarked as they are (others may be mid-edit in ext/), with a warning.
    def prepare!
      FileUtils.mkdir_p(LOG_DIR)
      run!("bin/kafka", "start", log: "kafka-start")
      run!("make", "-s", "-C", BENCH_DIR, log: "make")
      build_extension unless File.exist?(EXTENSION)
      warn_if_stale_extension
      require "racecar"
      at_exit { delete_topics }
    end

    # Every call makes a new topic: rounds create the same label again.
    def create_topic(label, partitions)
      name = "bench-#{label}-#{partitions}p-#{@run_id}-#{@topics.size + 1}"
      result = Racecar::Native::Admin.create_topics(admin_properties, [[name, partitions]], 30)
      raise "could not create #{name}: #{result[name]}" unless result[name] == true

      @topics << name
      name
    end

    def group_id(label)
      "bench-#{label}-#{SecureRandom.hex(4)}"
    end

    # Fills a topic with the C producer (fast; kcat would take minutes).
    def fill(topic, count = @messages)
      result = c_produce(topic, count, properties: racecar_producer_properties.merge("linger.ms" => "20"))
      raise "filling #{topic}: only #{result['messages']} of #{count} acknowledged" unless result["messages"] == count

      result
    end

    def c_produce(topic, count = @messages, properties: racecar_producer_properties)
      run_json([File.join(BIN_DIR, "bench_producer"), "-t", topic, "-n", count.to_s, "-s", @message_size.to_s,
                "-T", child_timeout.to_s, *x_flags(properties)], log: "c-producer-#{topic}")
    end

    # spin_ns: nanoseconds of busy work per message (a diagnostic, 0 for the ceiling).
    def c_consume(topic, count = @messages, properties:, batch:, wait_ms:, spin_ns: 0)
      run_json([File.join(BIN_DIR, "bench_consumer"), "-t", topic, "-n", count.to_s, "-b", batch.to_s,
                "-w", wait_ms.to_s, "-d", spin_ns.to_s, "-T", child_timeout.to_s, *x_flags(properties)],
               log: "c-consumer-#{topic}")
    end

    # Runs one of the Ruby measurement scripts in bench/support/ in a child;
    # env adds variables (RACECAR_* settings) for that child only.
    def ruby_script(script, args, log:, env: {})
      run_json([RbConfig.ruby, File.join(BENCH_DIR, "support", script), *args,
                "--brokers", @brokers, "--timeout", child_timeout.to_s], log: log, env: env)
    end

    # BENCH_REPEAT times (default once), keeping the fastest: the machine is
    # shared, and a neighbour's burst should not decide a ratio. The block
    # must make its own fresh group id or topic each time.
    def best_of
      Array.new(@repeat) { yield }.max_by { |result| result["rate"] }
    end

    # The librdkafka properties racecar would use for a consumer of this topic,
    # as computed by racecar's own Config (the C ceiling gets the same).
    def racecar_consumer_properties(topic)
      ruby_script("racecar_consume.rb", ["--topic", topic, "--dump-properties"], log: "dump-consumer")
    end

    def racecar_producer_properties
      @racecar_producer_properties ||= ruby_script("racecar_produce.rb", ["--topic", "unused", "--dump-properties"],
                                                   log: "dump-producer")
    end

    # How many messages the topic holds (sum of its partitions' end offsets),
    # asked of the broker with kcat so no racecar bookkeeping is trusted.
    def message_count(topic, partitions)
      queries = (0...partitions).flat_map { |partition| ["-t", "#{topic}:#{partition}:-1"] }
      output = IO.popen(["kcat", "-b", @brokers, "-J", "-Q", *queries], err: File::NULL, &:read)
      raise "kcat could not read the offsets of #{topic}" unless $?.success?

      JSON.parse(output).fetch(topic).values.sum { |entry| entry.is_a?(Hash) ? entry.fetch("offset") : 0 }
    end

    def describe_environment
      librdkafka = `pkg-config --modversion rdkafka 2>/dev/null`.strip
      "librdkafka #{librdkafka.empty? ? '?' : librdkafka}, ruby #{RUBY_VERSION}, #{Etc.nprocessors} CPUs, " \
        "broker #{@brokers}, load average #{File.read('/proc/loadavg').split.first(3).join(' ')}"
    end

    def delete_topics
      return if @topics.empty?

      Racecar::Native::Admin.delete_topics(admin_properties, @topics.dup, 30)
      @topics.clear
    rescue StandardError => e
      warn "could not delete benchmark topics #{@topics.join(', ')}: #{e.message}"
    end

    private

    def admin_properties
      { "bootstrap.servers" => @brokers }
    end

    def x_flags(properties)
      properties.flat_map { |key, value| ["-X", "#{key}=#{value}"] }
    end

    # Generous: a broken run should fail, not hang CI, but a slow machine
    # should still finish.
    def child_timeout
      60 + (@messages / 10_000)
    end

    def build_extension
      warn "building the extension (rake compile)"
      run!("rake", "compile", log: "rake-compile")
    end

    def warn_if_stale_extension
      sources = Dir[File.join(REPO_ROOT, "ext", "racecar_native", "*.{c,h,rb}")]
      newest = sources.map { |path| File.mtime(path) }.max
      return unless newest && newest > File.mtime(EXTENSION)

      warn "note: #{EXTENSION} is older than ext/racecar_native sources; run `rake compile` to benchmark them"
    end

    def log_path(name)
      File.join(LOG_DIR, "#{name.gsub(/[^\w.-]/, '_')}.log")
    end

    def run!(*command, log:)
      path = log_path(log)
      ok = system(*command, chdir: REPO_ROOT, out: path, err: %i[child out])
      raise "#{command.join(' ')} failed:\n#{tail(path)}" unless ok
    end

    # Runs a child that prints a JSON object as its last stdout line; stderr
    # goes to a log file that is shown when the child fails.
    def run_json(command, log:, env: {})
      path = log_path(log)
      reader, writer = IO.pipe
      pid = Process.spawn(env, *command, chdir: REPO_ROOT, out: writer, err: path)
      writer.close
      output = +""
      status = nil
      begin
        Timeout.timeout(child_timeout + 30) do
          output << reader.read
          _, status = Process.wait2(pid)
        end
      rescue Timeout::Error
        Process.kill("KILL", pid)
        Process.wait(pid)
        raise "#{File.basename(command.first)} timed out; log #{path}:\n#{tail(path)}"
      ensure
        reader.close
      end
      line = output.lines.reverse.find { |l| l.start_with?("{") }
      unless status.success? && line
        raise "#{command.first(2).join(' ')} failed (#{status}); log #{path}:\n#{tail(path)}\n#{output}"
      end

      JSON.parse(line)
    end

    def tail(path)
      File.exist?(path) ? File.readlines(path).last(30).join : "(no log)"
    end
  end
end
