# frozen_string_literal: true

require_relative "../../support/config"

RSpec.describe Racecar::Config::Coercion do
  def setting(type, **options)
    Racecar::Config::Setting.new(name: :example, type: type, description: "an example",
                                 default: options.delete(:default), **options)
  end

  def coerce(setting, value)
    setting.coerce(value)
  end

  describe "strings" do
    let(:optional) { setting(:string) }
    let(:required) { setting(:string, default: "racecar") }

    it "keeps a String" do
      expect(coerce(optional, "abc")).to eq("abc")
    end

    it "turns a Symbol or a number into a String" do
      expect([coerce(optional, :abc), coerce(optional, 12)]).to eq(%w[abc 12])
    end

    it "strips surrounding whitespace" do
      expect(coerce(optional, "  abc \n")).to eq("abc")
    end

    it "unsets an optional key given an empty String" do
      expect(coerce(optional, "")).to be_nil
    end

    it "rejects an empty String for a key that must have a value" do
      expect { coerce(required, "") }.to raise_error(Racecar::ConfigError, /example: (nil|""); must be set/)
    end

    it "rejects nil for a key that must have a value" do
      expect { coerce(required, nil) }.to raise_error(Racecar::ConfigError, /example: (nil|""); must be set/)
    end

    it "rejects an Array" do
      expect { coerce(optional, ["a"]) }
        .to raise_error(Racecar::ConfigError, 'Invalid value for example: ["a"]; expected a string')
    end
  end

  describe "integers" do
    let(:integer) { setting(:integer, default: 1, bound: 1) }

    it "keeps an Integer" do
      expect(coerce(integer, 5)).to eq(5)
    end

    it "parses a decimal String, underscores allowed" do
      expect([coerce(integer, "42"), coerce(integer, "100_000")]).to eq([42, 100_000])
    end

    it "does not read a leading zero as octal" do
      expect(coerce(integer, "010")).to eq(10)
    end

    it "rejects a fraction" do
      expect { coerce(integer, "1.5") }
        .to raise_error(Racecar::ConfigError, 'Invalid value for example: "1.5"; expected an integer')
    end

    it "rejects a Float even when whole" do
      expect { coerce(integer, 2.0) }.to raise_error(Racecar::ConfigError, /expected an integer/)
    end

    it "rejects text" do
      expect { coerce(integer, "lots") }.to raise_error(Racecar::ConfigError, /"lots"; expected an integer/)
    end

    it "enforces a minimum" do
      expect { coerce(integer, 0) }
        .to raise_error(Racecar::ConfigError, "Invalid value for example: 0; must be 1 or more")
    end
  end

  describe "seconds" do
    let(:seconds) { setting(:seconds, default: 1, bound: :positive) }

    it "keeps an Integer as an Integer" do
      expect(coerce(seconds, 10)).to eql(10)
    end

    it "keeps a Float" do
      expect(coerce(seconds, 0.25)).to eql(0.25)
    end

    it "parses a whole number String to an Integer" do
      expect(coerce(seconds, "10")).to eql(10)
    end

    it "parses a decimal String to a Float" do
      expect(coerce(seconds, "1.5")).to eql(1.5)
    end

    it "parses a Rational to a Float" do
      expect(coerce(seconds, Rational(1, 4))).to eql(0.25)
    end

    it "rejects text" do
      expect { coerce(seconds, "1s") }
        .to raise_error(Racecar::ConfigError, 'Invalid value for example: "1s"; expected a number of seconds')
    end

    it "rejects a hexadecimal String" do
      expect { coerce(seconds, "0x10") }.to raise_error(Racecar::ConfigError, /expected a number of seconds/)
    end

    it "rejects infinity" do
      expect { coerce(seconds, Float::INFINITY) }.to raise_error(Racecar::ConfigError, /number of seconds/)
    end

    it "rejects zero where the value must be positive" do
      expect { coerce(seconds, 0) }.to raise_error(Racecar::ConfigError, /example: 0; must be greater than 0/)
    end

    it "accepts zero where the value may be zero" do
      expect(coerce(setting(:seconds, default: 1, bound: :non_negative), "0")).to eq(0)
    end

    it "rejects a negative value where the value may be zero" do
      expect { coerce(setting(:seconds, default: 1, bound: :non_negative), -1) }
        .to raise_error(Racecar::ConfigError, /must be 0 or more/)
    end

    it "accepts -1 for a pause" do
      expect(coerce(setting(:seconds, default: 1, bound: :pause), "-1")).to eq(-1)
    end

    it "rejects other negative pauses" do
      expect { coerce(setting(:seconds, default: 1, bound: :pause), -0.5) }
        .to raise_error(Racecar::ConfigError, /must be -1 \(pause forever\), 0 \(do not pause\) or more/)
    end
  end

  describe "booleans" do
    let(:boolean) { setting(:boolean, default: false) }

    it "keeps true and false" do
      expect([coerce(boolean, true), coerce(boolean, false)]).to eq([true, false])
    end

    it "parses the Strings true and false" do
      expect([coerce(boolean, "true"), coerce(boolean, "false")]).to eq([true, false])
    end

    it "parses 1 and 0, as upstream Racecar does" do
      expect([coerce(boolean, "1"), coerce(boolean, "0")]).to eq([true, false])
    end

    %w[yes no TRUE on].each do |text|
      it "rejects #{text.inspect}" do
        expect { coerce(boolean, text) }
          .to raise_error(Racecar::ConfigError, "Invalid value for example: #{text.inspect}; expected true or false")
      end
    end

    it "rejects an empty String" do
      expect { coerce(boolean, "") }.to raise_error(Racecar::ConfigError, /example: (nil|""); must be set/)
    end
  end

  describe "lists" do
    let(:list) { setting(:list, default: []) }

    it "splits a String on commas and strips each item" do
      expect(coerce(list, "kafka1:9092, kafka2:9092 ,kafka3:9092")).to eq(%w[kafka1:9092 kafka2:9092 kafka3:9092])
    end

    it "drops empty items" do
      expect(coerce(list, "a,,b,")).to eq(%w[a b])
    end

    it "takes an Array, turning Symbols into Strings" do
      expect(coerce(list, [:a, "b"])).to eq(%w[a b])
    end

    it "turns nil into an empty list" do
      expect(coerce(list, nil)).to eq([])
    end

    it "returns a frozen list" do
      expect(coerce(list, %w[a])).to be_frozen
    end

    it "rejects nested structures" do
      expect { coerce(list, [{ "a" => 1 }]) }.to raise_error(Racecar::ConfigError, /expected a list of strings/)
    end
  end

  describe "enums" do
    let(:enum) { setting(:enum, allowed: %w[gzip lz4 snappy zstd]) }
    let(:upper) { setting(:enum, allowed: %w[GSSAPI PLAIN]) }

    it "accepts a Symbol" do
      expect(coerce(enum, :lz4)).to eq("lz4")
    end

    it "matches regardless of case and stores the canonical spelling" do
      expect([coerce(enum, "GZIP"), coerce(upper, :plain)]).to eq(%w[gzip PLAIN])
    end

    it "lists the allowed values and suggests the closest" do
      expect { coerce(enum, "snapy") }.to raise_error(
        Racecar::ConfigError,
        'Invalid value for example: "snapy"; allowed values: gzip, lz4, snappy, zstd; did you mean "snappy"?'
      )
    end

    it "rejects a number" do
      expect { coerce(enum, 4) }.to raise_error(Racecar::ConfigError, /example: 4; allowed values/)
    end
  end

  describe "enum lists" do
    let(:strategy) { setting(:enum_list, default: "range", allowed: %w[range roundrobin cooperative-sticky]) }

    it "normalizes a comma-separated String" do
      expect(coerce(strategy, " Range , roundrobin ")).to eq("range,roundrobin")
    end

    it "joins an Array" do
      expect(coerce(strategy, %i[roundrobin range])).to eq("roundrobin,range")
    end

    it "rejects an unknown assignor with a suggestion" do
      expect { coerce(strategy, "range,cooperative-stiky") }
        .to raise_error(Racecar::ConfigError, /allowed values: range, roundrobin, cooperative-sticky.*"cooperative-sticky"\?/)
    end

    it "rejects an empty list" do
      expect { coerce(strategy, ",") }.to raise_error(Racecar::ConfigError, /example: ","; must be set/)
    end
  end

  describe "librdkafka property lists" do
    let(:properties) { setting(:properties, default: []) }

    it "keeps key=value items, trimming around the key and value" do
      expect(coerce(properties, ["fetch.wait.max.ms = 5", "client.rack=a"]))
        .to eq(["fetch.wait.max.ms=5", "client.rack=a"])
    end

    it "keeps '=' inside a value" do
      expect(coerce(properties, ["sasl.kerberos.kinit.cmd=kinit -t x=y"])).to eq(["sasl.kerberos.kinit.cmd=kinit -t x=y"])
    end

    it "takes a Hash" do
      expect(coerce(properties, { "queued.max.messages.kbytes" => 1024 })).to eq(["queued.max.messages.kbytes=1024"])
    end

    it "splits a String on commas but keeps commas inside a value" do
      expect(coerce(properties, "partition.assignment.strategy=range,roundrobin,client.rack=a"))
        .to eq(["partition.assignment.strategy=range,roundrobin", "client.rack=a"])
    end

    it "rejoins an Array that was split inside a value" do
      expect(coerce(properties, ["partition.assignment.strategy=range", "roundrobin", "client.rack=a"]))
        .to eq(["partition.assignment.strategy=range,roundrobin", "client.rack=a"])
    end

    it "rejects an item without '='" do
      expect { coerce(properties, ["fetch.wait.max.ms"]) }.to raise_error(
        Racecar::ConfigError, /"fetch.wait.max.ms" is not a key=value librdkafka property/
      )
    end

    it "rejects an item without a key" do
      expect { coerce(properties, ["=5"]) }.to raise_error(Racecar::ConfigError, /not a key=value/)
    end

    it "rejects a number in the list" do
      expect { coerce(properties, [5]) }.to raise_error(Racecar::ConfigError, /expected a list of key=value/)
    end

    it "does not repeat a malformed item that mentions a password" do
      expect { coerce(properties, ["sasl.password:hunter2"]) }.to raise_error(Racecar::ConfigError) { |error|
        expect(error.message).not_to include("hunter2")
      }
    end
  end
end
