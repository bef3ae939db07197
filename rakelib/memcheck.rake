# frozen_string_literal: true

desc "Run the native-object specs under valgrind; fails on memory errors in racecar's C core " \
     "(SPECS=\"spec/safety ...\" to choose specs)"
task memcheck: :compile do
  args = ENV["SPECS"].to_s.split
  ruby File.expand_path("../bin/memcheck", __dir__), *args
end
