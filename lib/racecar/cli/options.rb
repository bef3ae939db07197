# frozen_string_literal: true

require "optparse"
require_relative "../version"

module Racecar
  class Cli
    # The command line of `racecar`. Every configuration key gets a flag, built
    # from its Racecar::Config::Setting, so a new key needs no CLI change:
    #
    #   integer, seconds, string, enum    --max-wait-time 2
    #   boolean                           --[no-]pause-with-exponential-backoff
    #   list, enum_list, properties       --brokers a:9092,b:9092 (repeatable, values add up)
    #
    # Only flags given on the command line end up in #config, so that
    # Config#apply_cli can let them win over the YAML file.
    class Options
      LIST_TYPES = %i[list enum_list properties].freeze

      # Shorter spellings the manual uses, mapped to setting names.
      ALIASES = { "--log" => :logfile }.freeze

      # Upstream's one-letter flags (`racecar -r ./app -l log/x.log X`).
      SHORT = { "-l" => :logfile, "-r" => :require }.freeze

      attr_reader :config, :arguments

      def initialize(settings:, program_name: "racecar")
        @settings = settings
        @program_name = program_name
        @config = {}
        @arguments = []
        @help = false
        @version = false
      end

      def help?
        @help
      end

      def version?
        @version
      end

      # Parses argv (not modified). Raises OptionParser::ParseError with a
      # message meant for the user.
      def parse(argv)
        reject_abbreviations(argv)
        @arguments = parser.parse(argv)
        self
      end

      # The consumer class name; raises OptionParser::ParseError unless exactly one was given.
      def consumer_name
        case @arguments.size
        when 1 then @arguments.first
        when 0 then raise OptionParser::MissingArgument, "consumer class name (usage: #{banner_usage})"
        else raise OptionParser::NeedlessArgument, "#{@arguments.drop(1).join(' ')}: only one consumer class per process"
        end
      end

      def usage
        parser.help
      end

      def parser
        @parser ||= build_parser
      end

      private

      # OptionParser completes unique prefixes (--max-wait for --max-wait-time),
      # which would make adding a key break existing command lines. Only whole
      # flag names are accepted.
      def reject_abbreviations(argv)
        argv.each do |arg|
          break if arg == "--"
          next unless arg.start_with?("--")

          name = arg.split("=", 2).first
          raise OptionParser::InvalidOption, name unless long_switches.include?(name)
        end
      end

      def long_switches
        @long_switches ||= parser.top.list.flat_map do |switch|
          next [] unless switch.respond_to?(:long)

          switch.long.flat_map { |long| long.start_with?("--[no-]") ? long_variants(long) : [long] }
        end
      end

      def long_variants(long)
        name = long.delete_prefix("--[no-]")
        ["--#{name}", "--no-#{name}"]
      end

      def banner_usage
        "#{@program_name} [options] ConsumerClass"
      end

      def build_parser
        parser = OptionParser.new
        parser.program_name = @program_name
        parser.banner = "Usage: #{banner_usage}\n\n" \
                        "Runs a Racecar::Consumer subclass. Flags override RACECAR_* variables and config/racecar.yml."
        parser.separator("")
        parser.separator("Options:")
        ALIASES.each do |flag, name|
          setting = @settings.fetch(name)
          parser.on("#{flag} #{placeholder(setting)}", "Same as #{setting.flag}") { |value| assign(setting, value) }
        end
        SHORT.each do |flag, name|
          setting = @settings[name]
          next unless setting

          parser.on("#{flag} #{placeholder(setting)}", "Same as #{setting.flag}") { |value| assign(setting, value) }
        end
        parser.on("--version", "Print the version and exit") { @version = true }
        parser.on("-h", "--help", "Print this help and exit") { @help = true }
        parser.separator("")
        parser.separator("Configuration (one flag per key; see the manual for details):")
        @settings.each_value { |setting| define(parser, setting) }
        parser
      end

      def define(parser, setting)
        switch = setting.flag
        if setting.type == :boolean
          parser.on("--[no-]#{switch.delete_prefix('--')}", describe(setting)) { |value| assign(setting, value) }
        else
          parser.on("#{switch} #{placeholder(setting)}", describe(setting)) { |value| assign(setting, value) }
        end
      end

      def assign(setting, value)
        if LIST_TYPES.include?(setting.type)
          items = value.split(",").map(&:strip).reject(&:empty?)
          @config[setting.name] = Array(@config[setting.name]) + items
        else
          @config[setting.name] = value
        end
      end

      def placeholder(setting)
        return "LIB" if setting.name == :require

        case setting.type
        when :integer then "N"
        when :seconds then "SECONDS"
        when :enum then setting.allowed ? setting.allowed.join("|") : "VALUE"
        when :list, :enum_list then "A,B"
        when :properties then "KEY=VALUE,..."
        else setting.name.to_s.end_with?("file", "path", "location") ? "FILE" : "VALUE"
        end
      end

      def describe(setting)
        text = setting.description.to_s
        text += " (one or more of #{setting.allowed.join(', ')})" if setting.type == :enum_list && setting.allowed
        shown = setting.display(setting.default)
        shown = shown.join(",") if shown.is_a?(Array)
        text += " [default: #{shown}]" unless shown.nil? || shown == "" || shown == []
        text
      end
    end
  end
end
