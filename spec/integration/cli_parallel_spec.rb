# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# `parallel_workers` with the real exe/racecar: forked workers join one group
# and split a 6-partition topic between them.
RSpec.describe "racecar --parallel-workers (integration)", :kafka, :cli, :cli_integration do
  let(:consumers_source) do
    recording_consumer_source("CliSpecParallelConsumer") + <<~RUBY
      # Each worker records its latest assignment (the runner instruments it).
      Racecar.instrumenter.subscribe("partitions_assigned") do |_name, payload|
        partitions = payload.fetch(:topic_partitions).fetch(ENV.fetch("SPEC_TOPIC"), [])
        path = File.join(ENV.fetch("SPEC_ASSIGNMENTS"), Process.pid.to_s)
        File.write("\#{path}.tmp", partitions.sort.join(","))
        File.rename("\#{path}.tmp", path)
      end

      Racecar.instrumenter.subscribe("partitions_revoked") do
        File.write(File.join(ENV.fetch("SPEC_ASSIGNMENTS"), "\#{Process.pid}.revoked"), "")
      end
    RUBY
  end

  around do |example|
    Dir.mktmpdir("racecar-cli-parallel") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), consumers_source)
      FileUtils.mkdir_p(File.join(dir, "assignments"))
      example.run
    end
  end

  let(:topic) { unique_name("cli-parallel") }
  let(:group) { unique_name("cli-parallel-group") }
  let(:output) { File.join(@app, "consumed.txt") }
  let(:assignments_dir) { File.join(@app, "assignments") }
  let(:env) { { "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output, "SPEC_ASSIGNMENTS" => assignments_dir } }

  # pid => partitions, for every worker whose latest assignment is not empty.
  def assignments
    Dir[File.join(assignments_dir, "*")].grep(/\d+\z/).to_h do |path|
      [File.basename(path).to_i, File.read(path).split(",").map(&:to_i)]
    end.reject { |_pid, partitions| partitions.empty? }
  end

  it "splits six partitions between three workers and stops them all on SIGTERM" do
    create_topic(topic, partitions: 6)
    racecar = start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2",
                            "--parallel-workers", "3", "CliSpecParallelConsumer", env: env, chdir: @app)
    stable = wait_until(timeout: 90, message: "three workers sharing six partitions\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      current = assignments
      current if current.size == 3 && current.values.flatten.sort == (0..5).to_a
    end

    6.times { |partition| produce_with_racecarctl(topic, "value-#{partition}", partition: partition, chdir: @app) }
    wait_until(timeout: 60, message: "six consumed messages\n#{racecar.describe}") { consumed(output).size >= 6 }

    lines = consumed(output)
    expect(lines.map { |line| line[:value] }.sort).to eq((0..5).map { |p| "value-#{p}" })
    expect(lines.map { |line| line[:pid] }.uniq.size).to eq(3)
    owner = stable.flat_map { |pid, partitions| partitions.map { |partition| [partition, pid] } }.to_h
    lines.each { |line| expect(line[:pid]).to eq(owner.fetch(line[:partition])) }
    expect(stable.keys).not_to include(racecar.pid)

    racecar.signal("TERM")
    expect(racecar.wait(timeout: 60)&.exitstatus).to eq(0), racecar.describe
    stable.each_key { |pid| expect(process_alive?(pid)).to be(false) }
    expect(racecar.stdout).to include("Parallel workers: 3").and include("Received SIGTERM, stopping the workers")
  end

  # Gone means exited: an orphan's zombie waits for whoever reaps orphans
  # here, and kill(pid, 0) still finds a zombie.
  def exited?(pid)
    state = File.read("/proc/#{pid}/status")[/^State:\s+(\S)/, 1]
    state.nil? || state == "Z"
  rescue Errno::ENOENT, Errno::ESRCH
    true
  end

  # Nothing forwards a stop to the workers here: no trap or ensure block runs
  # for SIGKILL, nor for SIGABRT, which Ruby leaves at its default (unlike
  # HUP or TERM, which it turns into an exception the parent's ensure sees).
  %w[KILL ABRT].each do |signal|
    it "stops its workers when SIG#{signal} kills the parent, instead of leaving them consuming as orphans" do
      create_topic(topic, partitions: 6)
      racecar = start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2",
                              "--parallel-workers", "2", "CliSpecParallelConsumer", env: env, chdir: @app)
      workers = wait_until(timeout: 90, message: "two assigned workers\n#{racecar.describe}") do
        raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

        assignments.keys.size == 2 && assignments.keys
      end
      racecar.signal(signal)
      expect(racecar.wait(timeout: 10)&.termsig).to eq(Signal.list.fetch(signal)), racecar.describe
      # Well inside ParallelRunner::ORPHAN_GRACE: they stop by themselves.
      wait_until(timeout: 25, message: "workers #{workers} exiting after their parent\n#{racecar.describe}") do
        workers.all? { |pid| exited?(pid) }
      end
      workers.each do |pid|
        expect(racecar.stdout).to match(/Worker \d \(pid #{pid}\): parent pid #{racecar.pid} is gone, stopping/)
      end
    ensure
      workers&.each { |pid| Process.kill("KILL", pid) unless exited?(pid) }
    end
  end

  it "stops every worker and exits 1 when one worker dies" do
    create_topic(topic, partitions: 6)
    racecar = start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2",
                            "--parallel-workers", "2", "CliSpecParallelConsumer", env: env, chdir: @app)
    workers = wait_until(timeout: 90, message: "two assigned workers\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      assignments.keys.size == 2 && assignments.keys
    end
    Process.kill("KILL", workers.first)
    expect(racecar.wait(timeout: 60)&.exitstatus).to eq(1), racecar.describe
    expect(racecar.stdout).to include("(pid #{workers.first}) was killed by SIGKILL; stopping the other workers")
    expect(process_alive?(workers.last)).to be(false)
  end
end
