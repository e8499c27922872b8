# frozen_string_literal: true

# Per-call cost of the gem against the aws-sigv4 gem (aws-sdk-ruby's signer, Debian's
# ruby-aws-sigv4), measured in the same run on the same request. Run after `rake compile`:
#   ruby -Ilib bench.rb
require "aws-sigv4"
require "benchmark"
require "realsig"

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REQUEST = { method: "PUT", url: "https://bucket.s3.us-east-1.amazonaws.com/photos/2026/cat.jpg?x-id=PutObject",
            headers: { "content-type" => "image/jpeg", "x-amz-meta-owner" => "ops" }, body: "x" * 1024,
            region: "us-east-1", service: "s3" }.freeze
N = Integer(ENV.fetch("N", "20000"))

def per_call_us(n)
  (n / 10).times { yield } # warm up
  best = Array.new(3) { Benchmark.realtime { n.times { yield } } }.min
  best / n * 1e6
end

creds = Realsig::Credentials.new(access_key_id: AKID, secret_access_key: SECRET)
signer = Realsig::Signer.new(clock: Realsig::Clock.raw, credentials: creds)
ours = per_call_us(N) { signer.sign(**REQUEST) }
cached = per_call_us(N) { signer.sign(**REQUEST.except(:body), body_sha256: "a" * 64) }

aws = Aws::Sigv4::Signer.new(service: "s3", region: "us-east-1", access_key_id: AKID, secret_access_key: SECRET,
                             uri_escape_path: false)
theirs = per_call_us(N) do
  aws.sign_request(http_method: REQUEST[:method], url: REQUEST[:url], headers: REQUEST[:headers], body: REQUEST[:body])
end

startup = Array.new(5) { Benchmark.realtime { Realsig::Signer.new(clock: Realsig::Clock.raw) } }.min * 1e3

puts format("realsig Signer#sign (1 KiB body hashed in Ruby)   %8.1f µs/call", ours)
puts format("realsig Signer#sign (body_sha256 given)           %8.1f µs/call", cached)
puts format("aws-sigv4 %s Signer#sign_request               %8.1f µs/call", Aws::Sigv4::VERSION, theirs)
puts format("ratio realsig / aws-sigv4                          %8.2f×", ours / theirs)
puts format("Realsig::Signer.new (compiled code cached on disk) %8.1f ms", startup)
puts "ruby #{RUBY_VERSION}, N=#{N}, best of 3"
