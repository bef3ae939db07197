# frozen_string_literal: true

# C-level tests of the engine: the files of ext/racecar_native that include
# no ruby.h, compiled with the test programs in test/c/ into tmp/ctest/ and run
# there. Ruby's headers are deliberately not on the include path, so an engine
# file that starts to depend on ruby.h fails this build instead of silently
# leaving the set. Only a C compiler, pkg-config and librdkafka-dev are needed.

require "fileutils"
require "shellwords"
require "timeout"

module CTest
  ROOT = File.expand_path("..", __dir__)
  # Relative to ROOT, where every command runs, so the echoed commands stay short.
  ENGINE_DIR = "ext/racecar_native"
  TEST_DIR = "test/c"
  BUILD_DIR = "tmp/ctest"
  # The plain-C engine: none of these includes ruby.h, directly or through a header.
  ENGINE = %w[delivery events monotonic offsets partition_table pause reaper topic_cache topic_queues].freeze
  # -Werror on top of the extension's own warning set (extconf.rb), including
  # its two exemptions: a change the gem's build accepts must not fail here.
  WARNINGS = %w[-std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter
                -Wno-missing-field-initializers -g].freeze
  SANITIZERS = %w[-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined].freeze
  PROGRAM_TIMEOUT = 120

  module_function

  # CC may carry words of its own ("ccache gcc").
  def compiler
    ENV["CC"].to_s.empty? ? ["cc"] : ENV["CC"].split
  end

  # Echoes the command, like rake's sh, and fails the task when it fails.
  def sh(*cmd)
    puts cmd.join(" ")
    system(*cmd, chdir: ROOT) || raise("ctest: command failed: #{cmd.shelljoin}")
  end

  def rdkafka_flags(kind)
    out = IO.popen(["pkg-config", kind, "rdkafka"], err: File::NULL, &:read)
    raise "ctest: pkg-config found no rdkafka (apt-get install librdkafka-dev pkg-config)" unless $?.success?

    out.split
  end

  # Whether the sanitizers build and run here (libasan may be missing, and
  # LeakSanitizer cannot run where ptrace is forbidden). Returns the extra
  # environment the test programs then need, or nil to build without them.
  def sanitizer_env
    probe = File.join(ROOT, BUILD_DIR, "sanitizer_probe")
    File.write("#{probe}.c", "#include <stdlib.h>\nint main(void) { free(malloc(8)); return 0; }\n")
    return nil unless system(*compiler, *SANITIZERS, "#{probe}.c", "-o", probe, out: File::NULL, err: File::NULL)

    [{ "ASAN_OPTIONS" => "detect_leaks=1" }, { "ASAN_OPTIONS" => "detect_leaks=0" }].find do |env|
      system(env, probe, out: File::NULL, err: File::NULL)
    end
  end

  # Runs one program with a time limit; true when it passed.
  def run_program(env, program)
    puts "# #{File.basename(program)}"
    pid = Process.spawn(env, File.join(ROOT, program), chdir: File.join(ROOT, BUILD_DIR))
    Timeout.timeout(PROGRAM_TIMEOUT) { Process.wait(pid) }
    $?.success?
  rescue Timeout::Error
    Process.kill("KILL", pid)
    Process.wait(pid)
    puts "ctest: #{File.basename(program)} did not finish within #{PROGRAM_TIMEOUT} s"
    false
  end

  def build_and_run
    $stdout.sync = true # our lines and the programs' lines in order
    FileUtils.mkdir_p(File.join(ROOT, BUILD_DIR))
    env = sanitizer_env
    flags = WARNINGS + (env ? SANITIZERS : []) + ["-I#{ENGINE_DIR}", "-I#{TEST_DIR}"] + rdkafka_flags("--cflags")
    puts(env ? "ctest: with #{SANITIZERS.first} (#{env["ASAN_OPTIONS"]})" : "ctest: sanitizers unavailable here, plain build")
    libs = rdkafka_flags("--libs") + ["-lpthread"]
    libs.unshift(*SANITIZERS) if env

    objects = ENGINE.map do |name|
      object = File.join(BUILD_DIR, "#{name}.o")
      sh(*compiler, *flags, "-c", File.join(ENGINE_DIR, "#{name}.c"), "-o", object)
      object
    end
    tests = Dir.glob("#{TEST_DIR}/test_*.c", base: ROOT).sort
    raise "ctest: no test programs in #{TEST_DIR}" if tests.empty?

    failed = tests.reject do |source|
      program = File.join(BUILD_DIR, File.basename(source, ".c"))
      sh(*compiler, *flags, source, *objects, *libs, "-o", program)
      run_program(env || {}, program)
    end
    puts "ctest: #{tests.size - failed.size} of #{tests.size} programs passed"
    raise "ctest: failed: #{failed.map { |f| File.basename(f) }.join(", ")}" unless failed.empty?
  end
end

desc "Compile and run the C tests of the engine (test/c) against the system librdkafka"
task :ctest do
  CTest.build_and_run
end
