# frozen_string_literal: true

# Manual, "Message headers": `message.headers #=> { "Header-A" => 42, ... }`
# inside a consumer that records what it sees.
class HeadersConsumer < Racecar::Consumer
  subscribes_to "headers"

  def process(message)
    Processed << message.headers
  end
end
