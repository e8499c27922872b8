# frozen_string_literal: true

# realsig: AWS Signature Version 4 signing with the real time. The signing itself is the
# realsig WebAssembly component, run by the reference host (wasmtime) in the native extension
# Realsig::Native; this file and lib/realsig/*.rb are the idiomatic layer over it.
require_relative "realsig/version"
require_relative "realsig/errors"
require_relative "realsig/native" # lib/realsig/native.so, built by `rake compile`
require_relative "realsig/clock"
require_relative "realsig/credentials"
require_relative "realsig/signer"
