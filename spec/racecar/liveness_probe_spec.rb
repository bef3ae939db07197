# frozen_string_literal: true

require "tmpdir"
require "racecar/instrumenter"
require "racecar/liveness_probe"

RSpec.describe Racecar::LivenessProbe do
  around do |example|
    Dir.mktmpdir("racecar-liveness") do |dir|
      @dir = dir
      example.run
    end
  end

  let(:path) { File.join(@dir, "alive") }
  let(:instrumenter) { Racecar::Instrumenter.new(backend: nil) }
  let(:now) { [100.0] }
  let(:clock) { -> { now.first } }

  def probe(max_interval: 5, file_path: path)
    described_class.new(file_path: file_path, max_interval: max_interval, instrumenter: instrumenter, clock: clock)
  end

  def age_file(seconds)
    time = Time.now - seconds
    File.utime(time, time, path)
  end

  describe "#install" do
    it "does not create the file before the first loop" do
      probe.install
      expect(File.exist?(path)).to be(false)
    end

    it "creates the file on the first main_loop event" do
      probe.install
      instrumenter.instrument("main_loop")
      expect(File.exist?(path)).to be(true)
    end

    it "refreshes the file's mtime on later main_loop events" do
      probe.install
      instrumenter.instrument("main_loop")
      age_file(60)
      now[0] += 1
      instrumenter.instrument("main_loop")
      expect(Time.now - File.mtime(path)).to be < 5
    end

    it "touches at most a few times per second however often the loop runs" do
      probe.install
      instrumenter.instrument("main_loop")
      age_file(60)
      now[0] += 0.01
      instrumenter.instrument("main_loop")
      expect(Time.now - File.mtime(path)).to be > 50
    end

    it "deletes the file on the shut_down event" do
      probe.install
      instrumenter.instrument("main_loop")
      instrumenter.instrument("shut_down")
      expect(File.exist?(path)).to be(false)
    end

    it "fails with the path and the setting's name when the directory does not exist" do
      bad = File.join(@dir, "missing", "alive")
      expect { probe(file_path: bad).install }
        .to raise_error(Racecar::ConfigError, /liveness_probe_file_path #{Regexp.escape(bad)} is not writable: directory/)
    end

    it "fails when the path is a directory" do
      expect { probe(file_path: @dir).install }.to raise_error(Racecar::ConfigError, /is a directory/)
    end

    it "keeps the consumer loop running when the file cannot be touched any more" do
      nested = File.join(@dir, "sub")
      Dir.mkdir(nested)
      probe(file_path: File.join(nested, "alive")).install
      Dir.rmdir(nested)
      expect { instrumenter.instrument("main_loop") }.not_to raise_error
    end
  end

  describe "#uninstall" do
    it "deletes the file and stops touching it" do
      live = probe.install
      instrumenter.instrument("main_loop")
      live.uninstall
      now[0] += 10
      instrumenter.instrument("main_loop")
      expect(File.exist?(path)).to be(false)
    end
  end

  describe "#check" do
    it "passes when the file was touched within max_interval" do
      File.write(path, "")
      age_file(2)
      expect(probe(max_interval: 5).check).to eq([true, nil])
    end

    it "fails with the age and the limit when the file is too old" do
      File.write(path, "")
      age_file(12.3)
      alive, reason = probe(max_interval: 5).check
      expect(alive).to be(false)
      expect(reason).to match(/\ARacecar healthcheck failed: No liveness within interval 5s\. Last liveness at .+, 12\.\d+ seconds ago\.\z/)
    end

    it "fails with upstream's message when there is no file" do
      expect(probe.check).to eq([false, "Racecar healthcheck failed: Liveness file not found `#{probe.file_path}`"])
    end
  end
end
