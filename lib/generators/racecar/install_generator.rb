# frozen_string_literal: true

require "rails/generators"

module Racecar
  module Generators
    # `rails generate racecar:install`: the config file and the folder consumers
    # live in. Needs nothing of racecar itself, so it runs before the gem is set up.
    class InstallGenerator < Rails::Generators::Base
      source_root File.expand_path("templates", __dir__)

      desc "Creates config/racecar.yml (one section per Rails environment) and app/consumers/."

      def create_config_file
        template "racecar.yml.tt", "config/racecar.yml"
      end

      def create_consumers_directory
        empty_directory "app/consumers"
        create_file "app/consumers/.keep", ""
      end

      private

      # The client id brokers see in their logs and metrics: the application's name.
      def client_id
        application = ::Rails.application if defined?(::Rails.application)
        name = application ? application.class.module_parent_name : File.basename(destination_root)
        name.to_s.underscore.tr("/", "_")
      end
    end
  end
end
