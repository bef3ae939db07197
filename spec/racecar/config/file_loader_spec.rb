# frozen_string_literal: true

require "tmpdir"
require_relative "../../support/config"

RSpec.describe Racecar::Config::FileLoader do
  around do |example|
    Dir.mktmpdir do |dir|
      @dir = dir
      example.run
    end
  end

  def file(text)
    path = File.join(@dir, "racecar.yml")
    File.write(path, text)
    path
  end

  it "reads the section of the given environment, with setting names as Symbols" do
    path = file(<<~YAML)
      development:
        client_id: dev
      production:
        client_id: prod
        max_wait_time: 2
    YAML
    expect(described_class.read(path, "production")).to eq(client_id: "prod", max_wait_time: 2)
  end

  it "evaluates ERB before parsing" do
    path = file("test:\n  client_id: <%= 'from-' + 'erb' %>\n")
    expect(described_class.read(path, :test)).to eq(client_id: "from-erb")
  end

  it "follows aliases and merge keys, so environments can share a common section" do
    path = file(<<~YAML)
      common: &common
        brokers:
          - kafka1:9092
        client_id: shared
      staging:
        <<: *common
        client_id: staging
    YAML
    expect(described_class.read(path, "staging")).to eq(brokers: ["kafka1:9092"], client_id: "staging")
  end

  it "allows Symbol values, as in security_protocol: :ssl" do
    path = file("test:\n  security_protocol: :ssl\n")
    expect(described_class.read(path, "test")).to eq(security_protocol: :ssl)
  end

  it "returns nil when the environment has no section" do
    expect(described_class.read(file("production:\n  client_id: x\n"), "test")).to be_nil
  end

  it "returns nil for an empty file" do
    expect(described_class.read(file(""), "test")).to be_nil
  end

  it "returns an empty Hash for an empty section" do
    expect(described_class.read(file("test:\n"), "test")).to eq({})
  end

  it "rejects an unknown key and suggests the closest one" do
    path = file("test:\n  max_wait: 2\n")
    expect { described_class.read(path, "test") }.to raise_error(
      Racecar::ConfigError, "unknown configuration variable max_wait in section test of #{path}. Did you mean max_wait_time?"
    )
  end

  it "rejects a section that is not a mapping" do
    expect { described_class.read(file("test:\n  - a\n"), "test") }
      .to raise_error(Racecar::ConfigError, /Section test of .* must be a mapping/)
  end

  it "rejects a file that is not a mapping of environments" do
    expect { described_class.read(file("- test\n"), "test") }
      .to raise_error(Racecar::ConfigError, /must be a mapping of environment names/)
  end

  it "reports invalid YAML with the file name" do
    path = file("test:\n  client_id: [unclosed\n")
    expect { described_class.read(path, "test") }.to raise_error(Racecar::ConfigError, /Invalid YAML in #{path}/)
  end

  it "reports an error raised by ERB with the file name" do
    path = file("test:\n  client_id: <%= undefined_helper %>\n")
    expect { described_class.read(path, "test") }
      .to raise_error(Racecar::ConfigError, /Error evaluating ERB in #{path}: NameError/)
  end

  it "reports a missing file" do
    expect { described_class.read(File.join(@dir, "nope.yml"), "test") }
      .to raise_error(Racecar::ConfigError, /Cannot read config file .*nope.yml/)
  end
end
