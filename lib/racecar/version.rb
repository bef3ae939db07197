# frozen_string_literal: true

module Racecar
  VERSION = "3.0.0"
end
