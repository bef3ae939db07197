# frozen_string_literal: true

# Manual, "Handling errors": the `process` that skips malformed messages. The
# class around it and the line standing for the manual's `# ...` are added.
class SkippingConsumer < Racecar::Consumer
  subscribes_to "events"

  def process(message)
    data = JSON.parse(message.value)
    # ...
    Processed << data
  rescue JSON::ParserError => e
    puts "Failed to process message in #{message.topic}/#{message.partition} at offset #{message.offset}: #{e}"
    # It's probably a good idea to report the exception to an exception tracker service.
  end
end
