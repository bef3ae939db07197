# frozen_string_literal: true

# Manual, "Configuration": config/racecar.rb (ServiceDiscovery stands in).
Racecar.configure do |config|
  # Each config variable can be set using a writer attribute.
  config.brokers = ServiceDiscovery.find("kafka-brokers")
end
