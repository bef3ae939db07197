# frozen_string_literal: true

# Runs risky native calls in a forked child, so that memory corruption
# (a segfault, glibc's abort, an AddressSanitizer report) fails the example
# instead of ending the whole spec run.
module ChildProcess
  # Returns [:returned, value] or [:raised, class name, message] from the
  # block, run in a child; fails the example when the child died otherwise.
  def in_child
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      result = begin
        [:returned, yield]
      rescue Exception => e # rubocop:disable Lint/RescueException -- reported to the parent
        [:raised, e.class.name, e.message]
      end
      writer.write(Marshal.dump(result))
      writer.close
      exit!(0)
    end
    writer.close
    output = reader.read
    _, status = Process.wait2(pid)
    expect(status.termsig).to be_nil, "the child died of signal #{status.termsig}"
    expect(status.exitstatus).to eq(0)
    Marshal.load(output) # rubocop:disable Security/MarshalLoad -- our own child's output
  ensure
    reader&.close
  end
end
