# frozen_string_literal: true

require_relative "errors"
require_relative "config/settings"
require_relative "config/env_loader"
require_relative "config/file_loader"
require_relative "config/group_id"
require_relative "config/validator"
require_relative "config/rdkafka_properties"
require_relative "config/logging"
require_relative "config/printing"
require_relative "liveness_probe"

module Racecar
  # All of racecar's configuration. Sources, later ones winning: defaults,
  # RACECAR_* variables (at construction), CLI flags (apply_cli), the YAML
  # file (load_file; it never overrides a CLI flag), config/racecar.rb
  # (writers), and the consumer class (load_consumer_class).
  class Config
    include Logging
    include Printing

    # The Setting for a key, or nil when there is no such key.
    def self.setting(name)
      SETTINGS[name.to_s.to_sym] if name.is_a?(String) || name.is_a?(Symbol)
    end

    # The Setting for a key; an unknown key raises ConfigError with a
    # suggestion.
    def self.setting!(name)
      setting(name) || raise(ConfigError, unknown_key_message(name))
    end

    # Starts with upstream's (KingKonf's) words, which people match on.
    def self.unknown_key_message(name)
      closest = suggestion(name)
      "unknown configuration variable #{name}#{closest ? ". Did you mean #{closest}?" : ''}"
    end

    # The setting name closest to a misspelt one (a Symbol), or nil.
    def self.suggestion(name)
      DidYouMean::SpellChecker.new(dictionary: SETTINGS.keys.map(&:to_s)).correct(name.to_s).first&.to_sym
    end

    SETTINGS.each_value do |setting|
      define_method(setting.name) { @values.fetch(setting.name) }
      define_method(:"#{setting.name}=") { |value| set(setting.name, value) }
      alias_method(:"#{setting.name}?", setting.name) if setting.type == :boolean
    end

    # Upstream's default handler does nothing; a caller may call it directly.
    NO_ERROR_HANDLER = proc {}

    attr_reader :consumer_class, :subscriptions, :error_handler

    def initialize(env: ENV)
      @values = SETTINGS.transform_values(&:default)
      @cli_keys = []
      @set_keys = []
      @consumer_class = nil
      @subscriptions = [].freeze
      @error_handler = NO_ERROR_HANDLER
      @logger = nil
      @own_logger = false
      @group_id_derived = false
      @notices_logged = false
      EnvLoader.each_assignment(env) { |name, raw, variable| set(name, raw, source: variable) }
    end

    # Sets one key from any source after coercion. `source` only appears in
    # error messages ("RACECAR_MAX_WAIT_TIME", "config/racecar.yml").
    def set(name, value, source: nil)
      setting = self.class.setting!(name)
      @values[setting.name] = setting.coerce(value, source: source)
      @set_keys |= [setting.name]
      @group_id_derived = false if setting.name == :group_id
      logging_changed(setting.name)
      self
    end

    def [](name)
      @values.fetch(self.class.setting!(name).name)
    end
    alias get []

    # A value as the key would store it, without storing it (upstream's
    # KingKonf name; the CLI decodes flag strings the same way).
    def decode(name, value)
      self.class.setting!(name).coerce(value)
    end

    # Upstream's writers; load_consumer_class normally sets both.
    def subscriptions=(subscriptions)
      @subscriptions = Array(subscriptions).dup.freeze
    end

    attr_writer :consumer_class

    def []=(name, value)
      set(name, value)
    end

    # Values given on the command line. They are remembered so that the YAML
    # file, loaded afterwards, does not override them. nil values mean "flag
    # not given" and are skipped.
    def apply_cli(options)
      options.each do |name, value|
        next if value.nil?

        set(name, value, source: "command line")
        @cli_keys |= [self.class.setting!(name).name]
      end
      self
    end

    # Loads the `environment` section of a YAML (ERB) file. Returns true when
    # the section existed, false (and logs a warning) when it did not: an app
    # may simply not configure racecar for some environment.
    def load_file(path, environment)
      values = FileLoader.read(path, environment)
      if values.nil?
        logger.warn("#{path} has no #{environment} section; no racecar settings loaded from it")
        return false
      end

      source = "#{path} (#{environment})"
      values.each { |name, value| set(name, value, source: source) unless @cli_keys.include?(name) }
      true
    end

    # Takes the per-class settings of a consumer class. nil class values mean
    # "not set". Group id: the class's own wins, then a configured group_id,
    # then one derived from the class name with group_id_prefix.
    def load_consumer_class(klass)
      @consumer_class = klass
      %i[max_wait_time fetch_messages parallel_workers].each do |name|
        value = class_value(klass, name)
        set(name, value, source: "#{klass.name}.#{name}") unless value.nil?
      end
      @subscriptions = Array(class_value(klass, :subscriptions)).dup.freeze
      assign_group_id(klass)
      self
    end

    # Raises ConfigError listing every problem. The first successful call
    # also logs, once, each warning and each key that was set but means
    # nothing here (see ignored_settings).
    def validate!
      problems = Validator.problems(self)
      raise ConfigError, problems.join("\n") unless problems.empty?

      log_notices
      self
    end

    # Keys given a value (from any source) that racecar accepts for
    # compatibility with upstream Racecar but does not use, e.g.
    # multi_subscription_strategy.
    def ignored_settings
      @set_keys.select { |name| SETTINGS.fetch(name).ignored }
    end

    # Upstream's accessors for the probe the consumer keeps alive.
    def liveness_probe
      @liveness_probe ||= LivenessProbe.new(file_path: liveness_probe_file_path,
                                            max_interval: liveness_probe_max_interval)
    end

    def install_liveness_probe
      liveness_probe.install
    end

    # Upstream's name for the poll budget in milliseconds.
    def max_wait_time_ms
      RdkafkaProperties.milliseconds(max_wait_time)
    end

    def rdkafka_consumer
      RdkafkaProperties.new(self).consumer
    end

    def rdkafka_producer
      RdkafkaProperties.new(self).producer
    end

    # librdkafka's statistics.interval.ms; the runner sets it only for
    # consumers that define statistics_callback.
    def statistics_interval_ms
      RdkafkaProperties.milliseconds(statistics_interval)
    end

    def on_error(&handler)
      raise ArgumentError, "on_error needs a block" unless handler

      @error_handler = handler
    end

    private

    def log_notices
      return if @notices_logged

      @notices_logged = true
      ignored_settings.each do |name|
        logger.info("#{name} is accepted for compatibility with upstream Racecar and ignored: " \
                    "#{SETTINGS.fetch(name).ignored}")
      end
      Validator.warnings(self).each { |warning| logger.warn(warning) }
    end

    def class_value(klass, name)
      klass.respond_to?(name) ? klass.public_send(name) : nil
    end

    # A group id derived for an earlier class is not a configured one, so a
    # second load_consumer_class derives afresh.
    def assign_group_id(klass)
      from_class = class_value(klass, :group_id)
      configured = @group_id_derived ? nil : group_id
      set(:group_id, from_class || configured || derived_group_id(klass), source: "#{klass.name}.group_id")
      @group_id_derived = from_class.nil? && configured.nil?
    end

    def derived_group_id(klass)
      raise ConfigError, "Cannot derive a group_id for an anonymous consumer class; set group_id" if klass.name.nil?

      GroupId.derive(klass.name, group_id_prefix)
    end
  end
end
