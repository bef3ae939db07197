# frozen_string_literal: true

module Racecar
  # Lets forked workers notice that their parent is gone, however it died.
  #
  # The parent makes a pipe before forking and keeps its write end open for
  # as long as it lives; it never writes. Each child closes its copy of the
  # write end and reads the other end on a thread: the read returns (EOF) only
  # once no process holds the write end any more, that is when the parent has
  # exited, SIGKILL included, which no trap or at_exit hook would see.
  # Polling Process.ppid would also work but only every so often, and not
  # under a subreaper, where ppid changes to the subreaper rather than to 1.
  class ParentLifeline
    def initialize
      @reader, @writer = IO.pipe
    end

    # Child side, right after fork. Calls on_parent_death (on a watcher thread,
    # so logging is fine) with the parent's pid once the parent is gone, then
    # gives the worker `grace` seconds to stop by itself before exiting it.
    def watch(grace:, &on_parent_death)
      @writer.close
      parent = Process.ppid
      reader = @reader
      thread = Thread.new do
        reader.read # blocks until EOF: nothing is ever written
        begin
          on_parent_death.call(parent)
        rescue StandardError
          nil # the worker must still go, even if telling about it failed
        end
        sleep(grace)
        # exit! skips Ruby's own flushing, and what the worker logged about
        # its parent would be lost with the buffer.
        [$stdout, $stderr].each { |io| io.flush rescue nil } # rubocop:disable Style/RescueModifier
        Process.exit!(1)
      end
      thread.name = "racecar-lifeline" if thread.respond_to?(:name=)
      thread
    end

    # Parent side, once every worker has exited.
    def close
      [@reader, @writer].each { |io| io.close unless io.closed? }
    end
  end
end
