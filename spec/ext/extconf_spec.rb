# frozen_string_literal: true

require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"

# extconf.rb must stop with a message that names the package to install when
# librdkafka is missing. The spec hides the system librdkafka without touching
# the system and without mount namespaces (a chroot or container may refuse
# `unshare -m`): pkg-config gets an empty search path, and the C compiler that
# mkmf calls by name is a wrapper, first on PATH, whose system header root
# (-isysroot) is a copy of / made of symlinks to every /usr/include entry
# except librdkafka/. The same harness with librdkafka left in is the control.
RSpec.describe "ext/racecar_native/extconf.rb" do
  extconf = File.expand_path("../../ext/racecar_native/extconf.rb", __dir__)

  # Runs extconf.rb in dir with the headers and pkg-config files seen through
  # the harness; returns [output, status].
  def run_extconf(extconf, dir, hide_librdkafka:)
    sysroot = File.join(dir, "sysroot")
    FileUtils.mkdir_p(File.join(sysroot, "usr", "include"))
    Dir.children("/usr/include").each do |entry|
      next if hide_librdkafka && entry == "librdkafka"

      File.symlink(File.join("/usr/include", entry), File.join(sysroot, "usr", "include", entry))
    end
    bin = File.join(dir, "bin")
    FileUtils.mkdir_p(bin)
    write_compiler_wrapper(bin, sysroot)
    pkg_config_dir = File.join(dir, "pkgconfig")
    FileUtils.mkdir_p(pkg_config_dir)
    unless hide_librdkafka
      pc = pkg_config_files.find { |path| File.basename(path) == "rdkafka.pc" }
      File.symlink(pc, File.join(pkg_config_dir, "rdkafka.pc"))
    end
    build = File.join(dir, "build")
    FileUtils.mkdir_p(build)
    env = { "PATH" => "#{bin}:#{ENV.fetch('PATH')}", "PKG_CONFIG_LIBDIR" => pkg_config_dir, "PKG_CONFIG_PATH" => "" }
    Open3.capture2e(env, RbConfig.ruby, extconf, chdir: build)
  end

  # mkmf runs RbConfig's CC by name ("x86_64-linux-gnu-gcc" on Debian); the
  # wrapper of that name runs the real one with the private header root.
  def write_compiler_wrapper(bin, sysroot)
    name = RbConfig::CONFIG.fetch("CC").split.first
    raise "RbConfig's CC (#{name}) is a path, so a wrapper on PATH cannot stand in for it" if name.include?("/")

    real = ENV.fetch("PATH").split(":").map { |d| File.join(d, name) }.find { |path| File.executable?(path) }
    raise "#{name} is not on PATH" unless real

    wrapper = File.join(bin, name)
    File.write(wrapper, "#!/bin/sh\nexec #{real} -isysroot #{sysroot} \"$@\"\n")
    File.chmod(0o755, wrapper)
  end

  def pkg_config_files
    Dir["/usr/lib/*/pkgconfig/rdkafka*.pc"] + Dir["/usr/lib/pkgconfig/rdkafka*.pc"] +
      Dir["/usr/share/pkgconfig/rdkafka*.pc"]
  end

  it "aborts naming librdkafka-dev, Homebrew's librdkafka and --with-rdkafka-dir when librdkafka is missing" do
    output, status = Dir.mktmpdir("racecar-extconf") { |dir| run_extconf(extconf, dir, hide_librdkafka: true) }
    expect(status).not_to be_success, output
    expect(output).to include("checking for librdkafka/rdkafka.h... no")
    expect(output).to include("apt-get install librdkafka-dev")
    expect(output).to include("brew install librdkafka")
    expect(output).to include("--with-rdkafka-dir")
  end

  it "configures the build through the same harness when librdkafka is left in" do
    output, status = Dir.mktmpdir("racecar-extconf") do |dir|
      run_extconf(extconf, dir, hide_librdkafka: false)
        .then { |out, st| [out + File.read(File.join(dir, "build", "Makefile")), st] }
    end
    expect(status).to be_success, output
    expect(output).to include("-lrdkafka")
  end

  it "configures the build when librdkafka is installed" do
    output, status = Dir.mktmpdir do |dir|
      Open3.capture2e(RbConfig.ruby, extconf, chdir: dir).then { |out, st| [out + File.read(File.join(dir, "Makefile")), st] }
    end
    expect(status).to be_success
    expect(output).to include("-lrdkafka")
  end
end
