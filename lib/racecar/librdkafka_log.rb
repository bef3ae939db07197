# frozen_string_literal: true

module Racecar
  # librdkafka's own log lines (syslog levels) go through racecar's logger.
  module LibrdkafkaLog
    module_function

    def write(logger, level, facility, text)
      line = "librdkafka #{facility}: #{text}"
      if level <= 3 then logger.error(line)
      elsif level == 4 then logger.warn(line)
      elsif level <= 6 then logger.info(line)
      else logger.debug(line)
      end
    end
  end
end
