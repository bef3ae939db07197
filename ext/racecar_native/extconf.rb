# frozen_string_literal: true

# Builds racecar's native core against the system librdkafka.
require "mkmf"

MINIMUM_LIBRDKAFKA = "2.0.0"

def abort_missing_librdkafka(reason)
  abort <<~MSG

    racecar: #{reason}

    racecar's native core links against librdkafka (>= #{MINIMUM_LIBRDKAFKA}) and its headers. Install it:
      Debian / Ubuntu:  apt-get install librdkafka-dev pkg-config
      Fedora / RHEL:    dnf install librdkafka-devel
      macOS (Homebrew): brew install librdkafka pkg-config
    or point the build at an installation prefix:
      gem install racecar -- --with-rdkafka-dir=/opt/librdkafka

  MSG
end

dir_config("rdkafka")

found = pkg_config("rdkafka")
unless found
  # No pkg-config file (or no pkg-config): try the plain library, which also
  # honours --with-rdkafka-dir / --with-rdkafka-include / --with-rdkafka-lib.
  have_header("librdkafka/rdkafka.h") &&
    have_library("rdkafka", "rd_kafka_new", "librdkafka/rdkafka.h") ||
    abort_missing_librdkafka("librdkafka was not found (no pkg-config entry 'rdkafka', no librdkafka/rdkafka.h)")
end

have_header("librdkafka/rdkafka.h") ||
  abort_missing_librdkafka("librdkafka/rdkafka.h was not found")

# The runtime version check lives in C (rd_kafka_version); here we check the
# headers we compile against, so an old librdkafka fails at install, not later.
version_ok = try_compile(<<~C)
  #include <librdkafka/rdkafka.h>
  #if RD_KAFKA_VERSION < 0x020000ff
  #error librdkafka too old
  #endif
  int main(void) { return 0; }
C
version_ok || abort_missing_librdkafka("librdkafka is older than #{MINIMUM_LIBRDKAFKA}")

have_func("rd_kafka_consumer_close_queue", "librdkafka/rdkafka.h")
have_func("rb_gc_mark_movable", "ruby.h")

$CFLAGS << " -std=c99 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fvisibility=hidden"
if ENV["RACECAR_DEBUG"] || enable_config("debug", false)
  $CFLAGS << " -O0 -g3 -Werror -Wno-declaration-after-statement"
end
if (sanitize = ENV["RACECAR_SANITIZE"])
  $CFLAGS << " -fsanitize=#{sanitize} -fno-omit-frame-pointer"
  # A Ruby exception leaves C frames by longjmp, which leaves their stack
  # redzones poisoned; Ruby (not built with ASAN) then trips over them in its
  # own memcpy. Heap checking, where use-after-free and overflows are, stays.
  $CFLAGS << " --param asan-stack=0" if sanitize.split(",").include?("address")
  $LDFLAGS << " -fsanitize=#{sanitize}"
end
$LIBS << " -lpthread"

create_makefile("racecar/racecar_native")
