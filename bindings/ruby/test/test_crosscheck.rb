# frozen_string_literal: true

# realsig against an independent signer: the aws-sigv4 gem (Debian's ruby-aws-sigv4, the
# signer of aws-sdk-ruby) on random requests at a pinned time. The requests stay inside what
# that gem's pure-Ruby path implements: it neither normalises paths nor re-encodes the query.

require_relative "test_helper"
require "aws-sigv4"

class TestCrosscheck < Minitest::Test
  SEED = Integer(ENV.fetch("REALSIG_SEED", Random.new_seed.to_s[0, 9]))
  WHEN = Time.utc(2026, 11, 22, 10, 30, 5)
  UNRESERVED = [*"a".."z", *"A".."Z", *"0".."9", "-", "_", ".", "~"].freeze
  TEXT = (UNRESERVED + [" ", "/", "+", "=", "&", "é", "€", "%", "*", "'"]).freeze

  def encode(text) = text.bytes.map { |b| UNRESERVED.include?(b.chr) ? b.chr : format("%%%02X", b) }.join

  def random_request(rng)
    word = ->(chars = UNRESERVED, max = 8) { Array.new(1 + rng.rand(max)) { chars.sample(random: rng) }.join }
    path = "/" + Array.new(rng.rand(4)) { word.(UNRESERVED - ["."]) }.join("/")
    query = Array.new(rng.rand(4)) { "#{encode(word.())}=#{encode(word.(TEXT))}" }.uniq { _1.split("=").first }
    headers = Array.new(rng.rand(4)) { ["x-test-#{word.([*"a".."z"], 6)}", word.(TEXT.reject { _1 == " " }, 12)] }.to_h
    {
      method: %w[GET PUT POST DELETE HEAD].sample(random: rng),
      url: "https://#{%w[example.amazonaws.com s3.eu-west-1.amazonaws.com api.example.com:8443].sample(random: rng)}" \
           "#{path}#{query.empty? ? "" : "?#{query.join("&")}"}",
      headers: headers,
      body: rng.rand(3).zero? ? nil : Random.new(rng.rand(1 << 30)).bytes(rng.rand(200)),
      region: %w[us-east-1 eu-west-1 ap-southeast-2].sample(random: rng),
      service: %w[service execute-api dynamodb].sample(random: rng),
      token: rng.rand(2).zero? ? nil : "token/#{word.()}"
    }
  end

  def aws_sign(req, time)
    Aws::Sigv4::Signer.new(service: req[:service], region: req[:region], access_key_id: TestSupport::AKID,
                           secret_access_key: TestSupport::SECRET, session_token: req[:token],
                           apply_checksum_header: true, uri_escape_path: true)
                      .sign_request(http_method: req[:method], url: req[:url], body: req[:body] || "",
                                    headers: req[:headers].merge("x-amz-date" => time.strftime("%Y%m%dT%H%M%SZ")))
                      .headers
  end

  def realsig_sign(signer, req)
    signer.sign(method: req[:method], url: req[:url], headers: req[:headers], body: req[:body],
                region: req[:region], service: req[:service], content_sha256_header: true,
                credentials: { access_key_id: TestSupport::AKID, secret_access_key: TestSupport::SECRET,
                               session_token: req[:token] })
  end

  def test_300_random_requests_sign_as_aws_sigv4_does
    puts "\ncrosscheck seed #{SEED} (REALSIG_SEED=#{SEED} replays it)"
    rng = Random.new(SEED)
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(WHEN))
    300.times do |i|
      req = random_request(rng)
      ours = realsig_sign(signer, req)
      theirs = aws_sign(req, WHEN)
      %w[authorization x-amz-date x-amz-content-sha256 x-amz-security-token].each do |name|
        message = "request #{i} (seed #{SEED}): #{name} differs for #{req.except(:body)}"
        theirs[name].nil? ? assert_nil(ours[name], message) : assert_equal(theirs[name], ours[name], message)
      end
    end
  end

  def test_a_peer_one_second_off_disagrees
    req = random_request(Random.new(SEED))
    ours = realsig_sign(Realsig::Signer.new(clock: Realsig::Clock.fixed(WHEN)), req)
    refute_equal aws_sign(req, WHEN + 1)["authorization"], ours["authorization"]
  end
end
