# frozen_string_literal: true

# For the specs that show a native object can be freed by the GC without close.
module CollectionHelpers
  # Runs the block, which returns the object to watch, in a thread of its own,
  # then runs the GC for up to `seconds` until that object is freed. True when
  # it was. Neither the finished thread's stack nor its value refers to the
  # object: a Thread keeps its value, which is the likely way one CI run kept
  # a consumer alive through 10 s of GC.start (its thread's block ended by
  # storing it, and something still referred to the Thread).
  def freed_by_gc?(seconds: 10)
    collected = ObjectSpace::WeakMap.new
    Thread.new { collected[:object] = yield; nil }.join
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    GC.start while collected.key?(:object) && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    !collected.key?(:object)
  end
end

RSpec.configure do |config|
  config.include CollectionHelpers
end
