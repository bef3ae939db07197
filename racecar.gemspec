# frozen_string_literal: true

require_relative "lib/racecar/version"

Gem::Specification.new do |spec|
  spec.name = "racecar"
  spec.version = Racecar::VERSION
  spec.authors = ["The racecar developers"]
  spec.summary = "A simple framework for Kafka consumers in Ruby, with a native librdkafka core"
  spec.description = "Write small Kafka consumer classes and run them with `racecar`; " \
                     "polling, offsets, pauses, rebalances and producing run in C over librdkafka."
  spec.license = "Apache-2.0"
  spec.required_ruby_version = ">= 3.1"

  spec.files = Dir["lib/**/*.rb", "lib/generators/**/*", "ext/**/*.{c,h,rb}", "ext/**/depend",
                   "exe/*", "extra/*", "README.md", "LICENSE"]
  spec.bindir = "exe"
  spec.executables = %w[racecar racecarctl]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/racecar_native/extconf.rb"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
