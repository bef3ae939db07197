# frozen_string_literal: true

require_relative "../support/cli"

# Signals are sent to a separate Ruby process, so a broken trap cannot take
# the spec run down with it.
RSpec.describe "Racecar::Signals", :cli do
  def run_script(body)
    script = <<~RUBY
      require "racecar/signals"
      $stdout.sync = true
      #{body}
    RUBY
    out, err, status = run_command("-I", File.join(CliSpecHelpers::ROOT, "lib"), "-e", script, timeout: 15)
    expect(err).to eq("").or include("error while handling")
    [out, err, status]
  end

  it "runs the immediate half inside the trap and the deferred half on another thread" do
    out, = run_script(<<~RUBY)
      stopped = false
      main = Thread.current
      signals = Racecar::Signals.new.on("TERM", immediate: -> { stopped = true }) do |name|
        puts "deferred \#{name} on main thread: \#{Thread.current == main}"
      end.install
      Process.kill("TERM", Process.pid)
      sleep 0.01 until stopped
      signals.uninstall
      puts "stopped: \#{stopped}"
    RUBY
    expect(out).to eq("deferred TERM on main thread: false\nstopped: true\n")
  end

  it "runs every deferred handler already received before #uninstall returns" do
    out, = run_script(<<~RUBY)
      count = 0
      received = 0
      signals = Racecar::Signals.new.on("USR1", "USR2", immediate: -> { received += 1 }) { |name| count += 1; puts name }
      signals.install
      Process.kill("USR1", Process.pid)
      Process.kill("USR2", Process.pid)
      # Both traps ran, so both deferred halves are queued (perhaps not run yet).
      sleep 0.001 until received == 2
      signals.uninstall
      puts "count \#{count}"
    RUBY
    expect(out.lines.last).to eq("count 2\n")
    expect(out.lines.first(2).sort).to eq(%W[USR1\n USR2\n])
  end

  it "restores the previous trap on #uninstall" do
    out, = run_script(<<~RUBY)
      original = false
      trap("USR1") { original = true; puts "original" }
      Racecar::Signals.new.on("USR1") { puts "racecar" }.install.uninstall
      Process.kill("USR1", Process.pid)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
      sleep 0.001 until original || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    RUBY
    expect(out).to eq("original\n")
  end

  it "keeps handling signals after a deferred handler raised" do
    out, err, = run_script(<<~RUBY)
      calls = 0
      received = 0
      signals = Racecar::Signals.new.on("USR1", immediate: -> { received += 1 }) do
        calls += 1
        raise "first fails" if calls == 1

        puts "second ran"
      end.install
      Process.kill("USR1", Process.pid)
      # The first USR1 must be taken before the second is sent, or the two merge into one.
      sleep 0.001 until received == 1
      Process.kill("USR1", Process.pid)
      sleep 0.001 until received == 2
      signals.uninstall
    RUBY
    expect(err).to include("racecar: error while handling SIGUSR1: RuntimeError: first fails")
    expect(out).to eq("second ran\n")
  end
end
