# frozen_string_literal: true

# Manual, "Setting the starting position": the `subscribes_to` line is the
# manual's; the class around it records what it processed.
class StartFromEndConsumer < Racecar::Consumer
  subscribes_to "some-topic", start_from_beginning: false

  def process(message)
    Processed << message.value
  end
end
