# frozen_string_literal: true

# GC.verify_compaction_references with room for every object to move: Ruby
# 3.1 calls that double_heap, Ruby 3.2+ expand_heap (and warns on double_heap).
module Compaction
  HEAP_ROOM =
    if GC.method(:verify_compaction_references).parameters.include?([:key, :expand_heap])
      { expand_heap: true }
    else
      { double_heap: true }
    end.freeze

  def self.verify_references!
    GC.verify_compaction_references(**HEAP_ROOM, toward: :empty)
  end
end
