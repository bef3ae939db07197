# frozen_string_literal: true

require "fileutils"
require "open3"
require "rbconfig"
require "securerandom"
require "tmpdir"

# A real Rails application for generator specs, made by Debian's `rails new`
# (railties 6.1 on Debian 12, 7.2 on Debian 13) without network access. The pristine app is built once and
# cached under tmp/rails-app-template/<key>; each spec works on a copy whose
# Gemfile points at this checkout and whose bundle resolves from the gems
# installed on the machine (`bundle install --local`).
module RailsApp
  # Bump when the way the template is made changes.
  SETUP_VERSION = 2
  GEM_ROOT = File.expand_path("../..", __dir__)
  CACHE_ROOT = File.join(GEM_ROOT, "tmp", "rails-app-template")
  APP_NAME = "demo_app"

  # Everything `rails new` can leave out offline; what it would still add to the
  # Gemfile (puma, byebug, tzinfo-data) Debian may lack, so the Gemfile is
  # replaced by rails + racecar in #copy. `rails new` ignores options it does
  # not know, so each version gets its own names: Rails 7 renamed
  # --skip-sprockets to --skip-asset-pipeline, and an app whose environment
  # files still say `config.assets` does not boot without sprockets-rails,
  # which Debian 13 does not ship.
  COMMON_NEW_APP_OPTIONS = %w[
    --skip-bundle --skip-git --skip-javascript --skip-active-storage --skip-action-cable --skip-bootsnap
    --minimal --skip-active-record --skip-test --skip-system-test
  ].freeze
  RAILS6_NEW_APP_OPTIONS = %w[--skip-sprockets --skip-webpack-install --skip-spring --skip-listen].freeze
  RAILS7_NEW_APP_OPTIONS = %w[--skip-asset-pipeline --skip-hotwire --skip-jbuilder --skip-docker].freeze

  Result = Struct.new(:stdout, :stderr, :status) do
    def success?
      status.success?
    end

    def output
      "#{stdout}#{stderr}"
    end
  end

  module_function

  def rails_version
    Gem::Specification.find_by_name("railties").version.to_s
  end

  def new_app_options
    own = Gem::Version.new(rails_version) >= Gem::Version.new("7.0") ? RAILS7_NEW_APP_OPTIONS : RAILS6_NEW_APP_OPTIONS
    COMMON_NEW_APP_OPTIONS + own
  end

  def template_dir
    File.join(CACHE_ROOT, "v#{SETUP_VERSION}-railties-#{rails_version}-ruby-#{RUBY_VERSION}", APP_NAME)
  end

  # The cached pristine app, built on first use. Built aside and renamed into
  # place so a concurrent or interrupted run never sees half an app.
  def template
    return template_dir if File.exist?(File.join(template_dir, "config", "application.rb"))

    build_root = File.join(CACHE_ROOT, "building-#{Process.pid}-#{SecureRandom.hex(4)}")
    FileUtils.mkdir_p(build_root)
    rails = Gem.bin_path("railties", "rails")
    result = run(build_root, RbConfig.ruby, rails, "new", APP_NAME, *new_app_options, gemfile: nil)
    raise "rails new failed:\n#{result.output}" unless result.success?

    FileUtils.mkdir_p(File.dirname(template_dir))
    begin
      File.rename(File.join(build_root, APP_NAME), template_dir)
    rescue SystemCallError
      raise unless File.exist?(template_dir) # another run got there first
    end
    template_dir
  ensure
    FileUtils.rm_rf(build_root) if build_root
  end

  # A fresh copy of the app in `dir`, bundled with this checkout of racecar.
  def copy(dir)
    app = File.join(dir, APP_NAME)
    FileUtils.cp_r(template, app)
    File.write(File.join(app, "Gemfile"), <<~GEMFILE)
      source "https://rubygems.org"

      gem "rails", "~> #{rails_version}"
      gem "racecar", path: #{GEM_ROOT.inspect}
    GEMFILE
    result = bundle(app, "install", "--local")
    raise "bundle install --local failed:\n#{result.output}" unless result.success?

    app
  end

  def bundle(app, *args)
    run(app, RbConfig.ruby, Gem.bin_path("bundler", "bundle"), *args)
  end

  def rails(app, *args)
    run(app, RbConfig.ruby, File.join(app, "bin", "rails"), *args)
  end

  # Runs a command in `chdir` with only the app's own bundle: variables of an
  # outer `bundle exec` (this gem's Gemfile) must not leak into it.
  def run(chdir, *command, gemfile: File.join(chdir, "Gemfile"), env: {})
    clean = {
      "BUNDLE_GEMFILE" => gemfile, "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_BIN_PATH" => nil,
      "BUNDLER_SETUP" => nil, "BUNDLER_VERSION" => nil, "RAILS_ENV" => nil, "RACK_ENV" => nil,
      "DISABLE_SPRING" => "1"
    }
    stdout, stderr, status = Open3.capture3(clean.merge(env), *command, chdir: chdir)
    Result.new(stdout, stderr, status)
  end
end
