# frozen_string_literal: true

module Racecar
  class Config
    # Derives a consumer group id from a class name: BaconConsumer ->
    # bacon-consumer. Namespaces are joined with a dash too
    # (Foo::BarConsumer -> foo-bar-consumer) so the id stays one readable
    # token in broker tooling, without "::" in it.
    module GroupId
      module_function

      def derive(class_name, prefix = nil)
        "#{prefix}#{dasherize(class_name)}"
      end

      def dasherize(class_name)
        class_name.to_s
                  .gsub("::", "-")
                  .gsub(/([A-Z\d]+)([A-Z][a-z])/, '\1-\2')
                  .gsub(/([a-z\d])([A-Z])/, '\1-\2')
                  .tr("_", "-")
                  .downcase
      end
    end
  end
end
