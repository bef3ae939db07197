# frozen_string_literal: true

require "tmpdir"
require_relative "../support/cli"

# What upstream Racecar 2.12's `racecar` prints (UPSTREAM-CONTRACT §6.5, §6.6,
# §8): supervisors and runbooks grep for these lines. The real exe/racecar
# against the real broker.
RSpec.describe "Upstream racecar output", :kafka, :cli, :cli_integration do
  around do |example|
    Dir.mktmpdir("racecar-compat-cli") do |dir|
      @app = dir
      File.write(File.join(dir, "consumers.rb"), <<~RUBY)
        class CompatCliConsumer < Racecar::Consumer
          subscribes_to ENV.fetch("SPEC_TOPIC")

          def process(message)
            File.open(ENV.fetch("SPEC_OUTPUT"), "a") { |f| f.puts(message.value) }
          end
        end
      RUBY
      example.run
    ensure
      Dir[File.join(dir, "*.pid")].each do |pidfile|
        Process.kill("KILL", File.read(pidfile).to_i)
      rescue Errno::ESRCH, ArgumentError
        nil
      end
    end
  end

  let(:topic) { unique_name("compat-cli") }
  let(:group) { unique_name("compat-cli-group") }
  let(:output) { File.join(@app, "consumed.txt") }
  let(:env) { { "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => output } }

  def start(*extra, env: {})
    start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2", "--without-rails",
                  *extra, "CompatCliConsumer", env: self.env.merge(env), chdir: @app)
  end

  def wait_for_consumption(racecar)
    produce_with_racecarctl(topic, "hello", chdir: @app)
    wait_until(timeout: 60, message: "a consumed message\n#{racecar.describe}") do
      raise "racecar exited early\n#{racecar.describe}" unless racecar.running?

      File.exist?(output)
    end
  end

  def stop(racecar)
    racecar.signal("TERM")
    expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
  end

  # The lines in the order given, each a whole line of `text`.
  def expect_lines_in_order(text, *lines)
    positions = lines.map { |line| text.lines(chomp: true).index(line) }
    expect(positions).to all(be_an(Integer)), "missing #{lines.zip(positions).select { |_, p| p.nil? }.map(&:first)}\n#{text}"
    expect(positions).to eq(positions.sort)
  end

  it "prints upstream's start-up lines on stderr, in upstream's order" do
    logfile = File.join(@app, "racecar.log")
    probe = File.join(@app, "alive")
    racecar = start("-l", logfile, "--liveness-probe-enabled", env: { "RACECAR_LIVENESS_PROBE_FILE_PATH" => probe })
    wait_for_consumption(racecar)
    stop(racecar)

    expect_lines_in_order(racecar.stderr, "=> Starting Racecar consumer CompatCliConsumer...",
                          "=> Logging to #{logfile}", "=> Wrooooom!", "=> Ctrl-C to shutdown consumer",
                          "=> Liveness probe enabled")
    expect(File.read(logfile)).to include("Starting CompatCliConsumer") # racecar's own lines stay
  end

  it "says it detected Rails before booting the application" do
    FileUtils.mkdir_p(File.join(@app, "config"))
    File.write(File.join(@app, "config", "environment.rb"), <<~RUBY)
      require "rails"
      module CompatCliApp
        class Application < Rails::Application
          config.root = File.expand_path("..", __dir__)
          config.eager_load = false
          config.logger = Logger.new(File::NULL)
        end
      end
      Rails.application.initialize!
    RUBY
    racecar = start_racecar("--require", "./consumers", "--group-id", group, "--max-wait-time", "0.2",
                            "CompatCliConsumer", env: env.merge("RAILS_ENV" => "production"), chdir: @app)
    wait_for_consumption(racecar)
    stop(racecar)

    expect_lines_in_order(racecar.stderr, "=> Starting Racecar consumer CompatCliConsumer...",
                          "=> Detected Rails, booting application...", "=> Wrooooom!")
  end

  it "prints upstream's daemon lines, and refuses a pidfile held by a running racecar" do
    pidfile = File.join(@app, "compat.pid")
    launcher = start("--daemonize", "--pidfile", pidfile, "--log", File.join(@app, "daemon.log"))
    expect(launcher.wait(timeout: 60)&.exitstatus).to eq(0), launcher.describe
    expect_lines_in_order(launcher.stderr, "=> Wrooooom!", "=> Starting background process",
                          "=> Writing PID to #{pidfile}")
    expect(launcher.stderr).not_to include("=> Ctrl-C to shutdown consumer")
    pid = wait_until(message: "the pidfile") { File.exist?(pidfile) && File.read(pidfile).to_i.nonzero? }

    second = start("--daemonize", "--pidfile", pidfile)
    expect(second.wait(timeout: 60)&.exitstatus).to eq(1), second.describe
    expect(second.stderr.lines(chomp: true)).to include("=> Racecar is already running with that PID file (#{pidfile})")
    expect(process_alive?(pid)).to be(true)

    Process.kill("TERM", pid)
    wait_until(timeout: 30, message: "the daemon to exit") { !File.exist?(pidfile) }
  end

  it "prints upstream's parallel worker lines" do
    racecar = start("--parallel-workers", "2")
    forked = nil
    wait_until(timeout: 60, message: "two forked workers\n#{racecar.describe}") do
      forked = racecar.stdout.scan(/=> Forked new Racecar consumer with process id (\d+)$/).flatten.map(&:to_i)
      forked.size == 2
    end
    stop(racecar)

    expect(racecar.stdout).to include("=> Running with 2 parallel workers\n")
    expect(forked).to all(be > 0)
    expect(racecar.stderr.lines(chomp: true)).to include("=> Terminating workers")
  ensure
    # A failed example KILLs the parent, which leaves its workers behind.
    Array(forked).each do |pid|
      Process.kill("KILL", pid)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end
  end

  it "exits 0 when SIGTERM arrives before the consumer's signal handlers are installed" do
    ready = File.join(@app, "booting")
    File.write(File.join(@app, "slow_boot.rb"), "File.write(#{ready.inspect}, '')\nsleep 30\n")
    racecar = start_racecar("--require", "./slow_boot", "--require", "./consumers", "--without-rails",
                            "CompatCliConsumer", env: env, chdir: @app)
    wait_until(timeout: 30, message: "the slow boot\n#{racecar.describe}") { File.exist?(ready) }
    racecar.signal("TERM")
    status = racecar.wait(timeout: 30)
    expect([status&.exitstatus, status&.termsig]).to eq([0, nil]), racecar.describe
    expect(racecar.stderr).not_to include("=> Crashed")
  end

  it "prints the version as upstream does" do
    out, _err, status = run_command(CliSpecHelpers::RACECAR, "--version")
    expect([status.exitstatus, out]).to eq([0, "Racecar #{Racecar::VERSION}\n"])
  end
end
