# frozen_string_literal: true

require "rails/generators"

module Racecar
  module Generators
    # `rails generate racecar:consumer TapDance` writes
    # app/consumers/tap_dance_consumer.rb with a TapDanceConsumer class.
    class ConsumerGenerator < Rails::Generators::NamedBase
      source_root File.expand_path("templates", __dir__)

      desc "Creates a consumer class in app/consumers/ (NAME may end in 'Consumer' or not)."

      def create_consumer_file
        template "consumer.rb.tt", File.join("app/consumers", class_path, "#{consumer_file_name}.rb")
      end

      private

      # "TapDance" and "TapDanceConsumer" both give tap_dance_consumer.
      def base_file_name
        file_name.delete_suffix("_consumer")
      end

      def consumer_file_name
        "#{base_file_name}_consumer"
      end

      def consumer_class_name
        "#{class_name.delete_suffix('Consumer')}Consumer"
      end

      # A placeholder the user is expected to change; dashes read well in Kafka.
      def topic_name
        (class_path + [base_file_name]).join("-").tr("_", "-")
      end
    end
  end
end
