# frozen_string_literal: true

# Manual, "Running consumers in parallel". The manual's `...` body is not
# Ruby; here it records which process handled which partition.
class ParallelProcessingConsumer < Racecar::Consumer
  subscribes_to "some-topic"

  self.parallel_workers = 5

  def process(message)
    File.open(ENV.fetch("MANUAL_OUTPUT"), "a") { |file| file.puts("#{Process.pid} #{message.partition} #{message.value}") }
  end
end
