# frozen_string_literal: true

require_relative "lib/realsig/version"

Gem::Specification.new do |spec|
  spec.name = "realsig"
  spec.version = Realsig::VERSION
  spec.summary = "AWS SigV4 signing with the real time, by the realsig WebAssembly component"
  spec.description = "Signs AWS requests with the realsig component in wasmtime (a Rust native extension " \
                     "embedding the realsig reference host), at the real time from a libfaketimefs realtime " \
                     "file, NTP or the raw kernel clock, even when the process clock is faked or drifted."
  spec.license = "Apache-2.0"
  spec.authors = ["realsig developers"]
  spec.homepage = "https://github.com/realsig/realsig"
  spec.required_ruby_version = ">= 3.1"
  # The extension's crate, its lock file and the vendored host crate (`rake vendor`; `rake
  # build` runs it first), which carries the committed component: installing the gem needs
  # cargo and crates.io, not this repository and not a wasm32 target.
  vendored = Dir.glob("ext/realsig/vendor/realsig/**/*", File::FNM_DOTMATCH, base: __dir__)
                .select { |f| File.file?(File.join(__dir__, f)) }
  if vendored.empty?
    raise "realsig.gemspec: ext/realsig/vendor/realsig is missing: run `rake vendor` (or `rake build`) first"
  end
  spec.files = Dir.glob(["lib/**/*.rb", "ext/realsig/{extconf.rb,Cargo.toml,Cargo.lock}", "ext/realsig/src/**/*.rs",
                         "README.md", "LICENSE"], base: __dir__) + vendored
  spec.extensions = ["ext/realsig/extconf.rb"]
  spec.require_paths = ["lib"]
end
