# frozen_string_literal: true

# Manual, "Rolling Updates and 'sticky-cooperative' Assignment".
Racecar.configure do |c|
  c.partition_assignment_strategy = "cooperative-sticky"
end
