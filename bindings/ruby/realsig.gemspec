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
  spec.homepage = "https://example.invalid/realsig"
  spec.required_ruby_version = ">= 3.1"
  spec.files = Dir["lib/**/*.rb", "ext/realsig/{extconf.rb,Cargo.toml}", "ext/realsig/src/**/*.rs", "README.md"]
  spec.extensions = ["ext/realsig/extconf.rb"]
  spec.require_paths = ["lib"]
end
