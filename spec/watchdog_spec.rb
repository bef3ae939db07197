# frozen_string_literal: true

require "rbconfig"
require "tmpdir"

# The suite's own watchdog (spec/support/watchdog.rb), seen from outside: a
# child rspec, configured exactly like this one through .rspec and
# spec_helper, runs a tiny spec file that hangs.
RSpec.describe SpecWatchdog do
  around do |example|
    Dir.mktmpdir("racecar-watchdog-spec") do |dir|
      @dir = dir
      example.run
    end
  end

  # Runs the spec text in a child rspec; returns [stdout, stderr, exit status, seconds].
  def run_child_rspec(spec_text, env)
    path = File.join(@dir, "hung_spec.rb")
    File.write(path, spec_text)
    out_path = File.join(@dir, "stdout")
    err_path = File.join(@dir, "stderr")
    started = monotonic
    pid = Process.spawn({ "RACECAR_SPEC_TIMEOUT_SCALE" => "1", "GRANDCHILD_PID_FILE" => grandchild_pid_file }.merge(env),
                        RbConfig.ruby, "-S", "rspec", "--order", "defined", path,
                        chdir: File.expand_path("..", __dir__), out: out_path, err: err_path, pgroup: true)
    status = wait_for(pid, 60)
    [File.read(out_path), File.read(err_path), status.exitstatus, monotonic - started]
  end

  def wait_for(pid, seconds)
    deadline = monotonic + seconds
    loop do
      _, status = Process.wait2(pid, Process::WNOHANG)
      return status if status
      next sleep(0.05) if monotonic < deadline

      Process.kill("KILL", -pid) # the whole group: the child rspec and what it started
      Process.wait(pid)
      raise "the child rspec was still running after #{seconds} s:\n#{File.read(File.join(@dir, 'stderr'))}"
    end
  end

  def grandchild_pid_file
    File.join(@dir, "grandchild.pid")
  end

  def process_gone?(pid)
    stat = File.read("/proc/#{pid}/stat")
    stat[/\) (\S)/, 1] == "Z" || !stat.include?("(sleep)")
  rescue Errno::ENOENT, Errno::ESRCH
    true
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # A hung example that starts a child process and a named helper thread.
  let(:hung_example) { <<~RUBY }
    def hang_here
      sleep
    end

    RSpec.describe "a hung example" do
      it "waits forever", timeout: 1 do
        File.write(ENV.fetch("GRANDCHILD_PID_FILE"), Process.spawn("sleep", "300").to_s)
        Thread.new { sleep }.name = "a-named-helper-thread"
        hang_here
      end

      it "runs after the hung one" do
        expect(1 + 1).to eq(2)
      end
    end
  RUBY

  it "fails a hung example with every thread's backtrace and the child processes, and the run goes on" do
    stdout, stderr, status, = run_child_rspec(hung_example, {})

    expect(status).to eq(1), stderr
    expect(stdout).to include("2 examples, 1 failure")
    expect(stdout).to match(/SpecWatchdog::Timeout:\s+timed out after 1 s/)
    expect(stderr).to include("spec watchdog: example still running after 1 s: a hung example waits forever")
    expect(stderr).to match(/thread main .*\n(.*\n)*?.*in `hang_here'/)
    expect(stderr).to match(/thread a-named-helper-thread .*\n.*in `sleep'/)
    grandchild = Integer(File.read(grandchild_pid_file))
    expect(stderr).to match(/pid #{grandchild} ppid \d+ state \S: sleep 300/)
    expect(stderr).to include("signalled child processes #{grandchild} (TERM, then KILL)")
    expect(process_gone?(grandchild)).to be(true)
  end

  it "aborts the run with a second dump when the example does not end after the raise" do
    stdout, stderr, status, seconds = run_child_rspec(<<~RUBY, "RACECAR_SPEC_TIMEOUT" => "1", "RACECAR_SPEC_TIMEOUT_GRACE" => "1")
      RSpec.describe "a stubborn example" do
        it "swallows every exception" do
          begin
            sleep
          rescue Exception
            retry
          end
        end
      end
    RUBY

    expect(status).to eq(SpecWatchdog::ABORT_STATUS), stderr
    expect(stdout).not_to include("examples")
    expect(stderr).to include("spec watchdog: example still running after 1 s: a stubborn example swallows every exception")
    expect(stderr).to include("spec watchdog: example did not end 1 s after the watchdog raised in it; aborting the run")
    expect(stderr.scan(/in `block \(2 levels\) in <top \(required\)>'/).size).to be >= 2 # the example, in both dumps
    expect(seconds).to be < 30
  end

  it "gives examples 20 times longer under valgrind, unless RACECAR_SPEC_TIMEOUT_SCALE says otherwise" do
    valgrind = { "LD_PRELOAD" => "/usr/libexec/valgrind/vgpreload_core-amd64-linux.so:" \
                                 "/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so" }

    expect([described_class.scale({}), described_class.scale(valgrind)]).to eq([1.0, 20.0])
    expect(described_class.scale(valgrind.merge("RACECAR_SPEC_TIMEOUT_SCALE" => "3"))).to eq(3.0)
  end

  it "lets an example that ends within its bound pass untouched" do
    stdout, stderr, status, = run_child_rspec(<<~RUBY, "RACECAR_SPEC_TIMEOUT" => "2")
      RSpec.describe "a quick example" do
        it "sleeps a little less than its bound" do
          sleep 1
        end
      end
    RUBY

    expect(status).to eq(0), stderr
    expect(stdout).to include("1 example, 0 failures")
    expect(stderr).not_to include("spec watchdog")
  end
end
