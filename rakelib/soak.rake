# frozen_string_literal: true

desc "Produce and consume at full speed for SOAK_MINUTES (default 10) against bin/kafka's broker, " \
     "sampling RSS every 10 s; fails when RSS grows after the warm-up"
task soak: :compile do
  ruby File.expand_path("../bin/soak", __dir__)
end
