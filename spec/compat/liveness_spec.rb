# frozen_string_literal: true

require "fileutils"
require "tmpdir"
require_relative "../support/cli"

# The liveness probe as upstream Racecar 2.12 has it (UPSTREAM-CONTRACT.md
# §6.4, §2.4): which config files `racecarctl liveness_probe` reads, its
# messages and exit codes; and a real consumer keeping the file fresh.
RSpec.describe "liveness probe as in Racecar 2.12 (compat)", :cli do
  around do |example|
    Dir.mktmpdir("racecar-compat-liveness") do |dir|
      @dir = dir
      FileUtils.mkdir_p(File.join(dir, "config"))
      example.run
    end
  end

  let(:fresh) { File.join(@dir, "fresh-liveness") }
  let(:missing) { File.join(@dir, "no-such-liveness") }

  def probe(env = {})
    racecarctl("liveness_probe", env: env, chdir: @dir)
  end

  def touch(path, age: 0)
    File.write(path, "")
    time = Time.now - age
    File.utime(time, time, path)
  end

  def write_yaml(section, path)
    File.write(File.join(@dir, "config", "racecar.yml"), "#{section}:\n  liveness_probe_file_path: #{path}\n")
  end

  describe "config/racecar.yml (issue 16, item 11)" do
    it "is not read when RAILS_ENV is unset, not even its development section" do
      touch(fresh)
      write_yaml("development", missing)
      _out, err, status = probe("RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh)
      expect([status.exitstatus, err]).to eq([0, ""])
    end

    it "is read, in the RAILS_ENV section, when RAILS_ENV is set" do
      touch(fresh)
      write_yaml("production", missing)
      _out, err, status = probe("RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh, "RAILS_ENV" => "production")
      expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{missing}`\n"])
    end

    it "is not read with liveness_probe_skip_config_files" do
      touch(fresh)
      write_yaml("production", missing)
      _out, err, status = probe("RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh, "RAILS_ENV" => "production",
                                "RACECAR_LIVENESS_PROBE_SKIP_CONFIG_FILES" => "true")
      expect([status.exitstatus, err]).to eq([0, ""])
    end
  end

  describe "config/racecar.rb" do
    before do
      File.write(File.join(@dir, "config", "racecar.rb"),
                 "Racecar.configure { |c| c.liveness_probe_file_path = #{missing.inspect} }\n")
      touch(fresh)
    end

    it "is loaded when present, without RAILS_ENV" do
      _out, err, status = probe("RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh)
      expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{missing}`\n"])
    end

    it "is skipped with liveness_probe_skip_config_files" do
      _out, _err, status = probe("RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh,
                                 "RACECAR_LIVENESS_PROBE_SKIP_CONFIG_FILES" => "true")
      expect(status.exitstatus).to eq(0)
    end
  end

  describe "the check" do
    let(:env) { { "RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh, "RACECAR_LIVENESS_PROBE_MAX_INTERVAL" => "5" } }

    it "exits 0 silently when the file is younger than the interval" do
      touch(fresh, age: 1)
      expect(probe(env)).to match(["", "", have_attributes(exitstatus: 0)])
    end

    it "exits 1 with upstream's message when the file is older" do
      touch(fresh, age: 30)
      _out, err, status = probe(env)
      expect(status.exitstatus).to eq(1)
      expect(err).to match(/\ARacecar healthcheck failed: No liveness within interval 5s\. Last liveness at /)
      expect(err).to match(/, 3\d(\.\d+)? seconds ago\.\n\z/)
    end

    it "exits 1 with upstream's message when the file is missing" do
      _out, err, status = probe(env)
      expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{fresh}`\n"])
    end

    it "accepts --pidfile, as upstream does" do
      touch(fresh)
      expect(racecarctl("liveness_probe", "--pidfile", "x.pid", env: env, chdir: @dir)[2].exitstatus).to eq(0)
    end
  end

  it "offers upstream's probe object on the config" do
    config = Racecar::Config.new(env: { "RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh })
    touch(fresh)
    expect(config.liveness_probe.liveness_event_within_interval?).to be(true)
    expect(config.liveness_probe.check_liveness_within_interval!).to be(true)
  end

  describe "with a real consumer", :kafka, :cli_integration do
    it "is alive while exe/racecar runs and fails with `Liveness file not found` after it stopped" do
      topic = create_topic(unique_name("compat-liveness"))
      File.write(File.join(@dir, "consumers.rb"), recording_consumer_source("CompatLivenessConsumer"))
      env = { "RACECAR_LIVENESS_PROBE_ENABLED" => "true", "RACECAR_LIVENESS_PROBE_FILE_PATH" => fresh,
              "SPEC_TOPIC" => topic, "SPEC_OUTPUT" => File.join(@dir, "out.txt") }
      racecar = start_racecar("--without-rails", "--require", "./consumers", "--max-wait-time", "0.2",
                              "CompatLivenessConsumer", env: env, chdir: @dir)
      wait_until(timeout: 60, message: "liveness file\n#{racecar.describe}") do
        raise "racecar exited\n#{racecar.describe}" unless racecar.running?

        File.exist?(fresh)
      end
      expect(probe(env)[2].exitstatus).to eq(0)
      racecar.signal("TERM")
      expect(racecar.wait(timeout: 30)&.exitstatus).to eq(0), racecar.describe
      _out, err, status = probe(env)
      expect([status.exitstatus, err]).to eq([1, "Racecar healthcheck failed: Liveness file not found `#{fresh}`\n"])
    end
  end
end
