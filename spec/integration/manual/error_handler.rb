# frozen_string_literal: true

# Manual, "Handling errors": the error handler (MyErrorTracker stands in).
Racecar.config.on_error do |exception, info|
  MyErrorTracker.report(exception, {
    topic: info[:topic],
    partition: info[:partition],
    offset: info[:offset],
  })
end
