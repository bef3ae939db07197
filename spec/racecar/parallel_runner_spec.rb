# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# Each example runs a ParallelRunner in its own Ruby process (real forks,
# real signals), with a stand-in for Racecar::Runner so that what is tested
# is process management alone. Workers leave files behind as evidence.
RSpec.describe "Racecar::ParallelRunner", :cli do
  let(:script) do
    <<~'RUBY'
    require "logger"
    require "racecar/parallel_runner"
    $stdout.sync = true
    dir = ARGV.fetch(0)
    workers = Integer(ARGV.fetch(1))

    class StandInRunner
      def initialize(dir, index)
        @dir = dir
        @index = index
        @stop = false
        mark("built")
      end

      # Written then renamed, so the spec never reads a half-written file.
      def mark(name)
        File.write("#{@dir}/.#{name}-#{@index}", Process.pid.to_s)
        File.rename("#{@dir}/.#{name}-#{@index}", "#{@dir}/#{name}-#{@index}")
      end

      def run
        mark("running")
        if ENV["CRASH_INDEX"] == @index.to_s
          sleep 0.3
          raise ArgumentError, "boom in worker #{@index}"
        end
        sleep 0.01 until @stop
        mark("stopped")
      end

      def stop
        @stop = true
      end
    end

    status = Racecar::ParallelRunner.new(
      worker_count: workers,
      worker: ->(index) { StandInRunner.new(dir, index) },
      logger: Logger.new($stdout),
      on_usr1: -> { puts "USR1 handled in #{Process.pid}" }
    ).run
    puts "parent #{Process.pid} exits with #{status}"
    exit status
    RUBY
  end

  around do |example|
    Dir.mktmpdir("racecar-parallel") do |dir|
      @dir = dir
      example.run
    end
  end

  def start(workers: 3, env: {})
    stdin, out, err, thread = Open3.popen3(env, RbConfig.ruby, "-I", File.join(CliSpecHelpers::ROOT, "lib"),
                                           "-e", script, @dir, workers.to_s)
    stdin.close
    @process = { out: out, err: err, thread: thread }
    spawned_pids << thread.pid
    thread.pid
  end

  # Waits for the parent to exit; returns [exit status, stdout, stderr].
  def finish(timeout: 15)
    raise "parent did not exit" unless @process[:thread].join(timeout)

    [@process[:thread].value.exitstatus, @process[:out].read, @process[:err].read]
  end

  def files(prefix)
    Dir[File.join(@dir, "#{prefix}-*")].sort.to_h { |path| [File.basename(path).split("-").last.to_i, File.read(path).to_i] }
  end

  def wait_for_workers(count)
    wait_until(message: "#{count} running workers") { files("running").size == count }
    files("running")
  end

  it "runs each worker in its own forked process, building its runner there" do
    parent = start(workers: 3)
    running = wait_for_workers(3)
    built = files("built")
    Process.kill("TERM", parent)
    finish
    expect(running.values.uniq.size).to eq(3)
    expect(running.values).not_to include(parent)
    expect(built).to eq(running)
  end

  %w[TERM INT QUIT].each do |signal|
    it "forwards SIG#{signal} to every worker and exits 0 once all stopped" do
      parent = start(workers: 3)
      running = wait_for_workers(3)
      Process.kill(signal, parent)
      status, out, = finish
      expect(status).to eq(0)
      expect(files("stopped")).to eq(running)
      expect(out).to include("parent #{parent} exits with 0")
    end
  end

  it "stops the other workers, names the crashed one and exits 1 when a worker crashes" do
    parent = start(workers: 3, env: { "CRASH_INDEX" => "1" })
    running = wait_for_workers(3)
    status, out, err = finish
    expect(status).to eq(1)
    expect(out).to include("Worker 1 (pid #{running[1]}) exited with status 1; stopping the other workers")
    expect(err).to include("ArgumentError: boom in worker 1")
    expect(files("stopped")).to eq(running.reject { |index, _| index == 1 })
    expect(out).to include("parent #{parent} exits with 1")
  end

  it "reports a worker killed by a signal and exits 1" do
    start(workers: 2)
    running = wait_for_workers(2)
    Process.kill("KILL", running[0])
    status, out, = finish
    expect(status).to eq(1)
    expect(out).to include("Worker 0 (pid #{running[0]}) was killed by SIGKILL")
    expect(files("stopped")).to eq(1 => running[1])
  end

  it "handles SIGUSR1 in the parent without disturbing the workers" do
    parent = start(workers: 2)
    running = wait_for_workers(2)
    Process.kill("USR1", parent)
    sleep 0.5
    expect(files("stopped")).to be_empty
    Process.kill("TERM", parent)
    status, out, = finish
    expect(out).to include("USR1 handled in #{parent}")
    expect([status, files("stopped")]).to eq([0, running])
  end

  it "rejects a worker count below 1" do
    require "racecar/parallel_runner"
    expect { Racecar::ParallelRunner.new(worker_count: 0, worker: -> {}, logger: nil) }
      .to raise_error(ArgumentError, /at least 1/)
  end
end
