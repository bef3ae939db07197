# frozen_string_literal: true

require "open3"
require "rbconfig"
require "tmpdir"

# extconf.rb must stop with a message that names the package to install when
# librdkafka is missing. The spec hides the system librdkafka (headers and
# pkg-config file) in a private mount namespace, so nothing else is affected.
RSpec.describe "ext/racecar_native/extconf.rb" do
  extconf = File.expand_path("../../ext/racecar_native/extconf.rb", __dir__)

  def hide_librdkafka_and_run(script, dir)
    pkgconfig = Dir["/usr/lib/*/pkgconfig/rdkafka*.pc"] + Dir["/usr/lib/pkgconfig/rdkafka*.pc"]
    hide = ["mount -t tmpfs none /usr/include/librdkafka"] + pkgconfig.map { |pc| "mount --bind /dev/null #{pc}" }
    command = "#{hide.join(' && ')} && cd #{dir} && #{RbConfig.ruby} #{script}"
    Open3.capture2e("unshare", "-m", "sh", "-c", command)
  end

  it "aborts naming librdkafka-dev, Homebrew's librdkafka and --with-rdkafka-dir when librdkafka is missing" do
    expect(Process.uid).to eq(0), "this spec hides librdkafka with unshare -m and needs root (CI runs as root)"
    output, status = Dir.mktmpdir { |dir| hide_librdkafka_and_run(extconf, dir) }
    expect(status).not_to be_success
    expect(output).to include("apt-get install librdkafka-dev")
    expect(output).to include("brew install librdkafka")
    expect(output).to include("--with-rdkafka-dir")
  end

  it "configures the build when librdkafka is installed" do
    output, status = Dir.mktmpdir do |dir|
      Open3.capture2e(RbConfig.ruby, extconf, chdir: dir).then { |out, st| [out + File.read(File.join(dir, "Makefile")), st] }
    end
    expect(status).to be_success
    expect(output).to include("-lrdkafka")
  end
end
