# frozen_string_literal: true

# S3 object keys, whatever the caller typed: every shared key case (tests/data/s3-keys.json)
# is uploaded with Signer#sign_details and the URL it returns, read back through a presigned
# URL made with nothing but service: "s3", and listed under its exact key, on both verifying
# servers (s3s-fs and versitygw on 127.0.0.1).

require_relative "test_helper"
require "json"
require "net/http"
require "rexml/document"
require "tmpdir"
require "fileutils"

class TestS3Keys < Minitest::Test
  CASES = JSON.parse(File.read(File.expand_path("../../../tests/data/s3-keys.json", __dir__)))["cases"]

  %i[s3s_fs versitygw].each do |kind|
    define_method(:"test_every_shared_key_round_trips_through_#{kind}") { round_trip(kind) }
  end

  def send_signed(signer, http, method, url, body = nil)
    signed = signer.sign_details(method: method, url: url, body: body, region: "us-east-1", service: "s3")
    request = Net::HTTPGenericRequest.new(method, !body.nil?, true, URI(signed.url).request_uri, signed.headers)
    request.body = body if body
    http.request(request)
  end

  def round_trip(kind)
    refute_empty CASES
    dir = Dir.mktmpdir("realsig-keys")
    Dir.mkdir(File.join(dir, "s3"))
    s3 = TestSupport::S3Server.new(File.join(dir, "s3"), kind)
    signer = Realsig::Signer.new(clock: Realsig::Clock.raw, credentials: TestSupport::CREDS)
    Net::HTTP.start("127.0.0.1", URI(s3.endpoint).port) do |http|
      assert_equal "200", send_signed(signer, http, "PUT", "#{s3.endpoint}/bucket").code
      want = CASES.each_with_index.map do |c, i|
        url = "#{s3.endpoint}/bucket/k#{format("%02d", i)}/#{c["typed"]}"
        body = "body of #{c["key"]}"
        put = send_signed(signer, http, "PUT", url, body)
        assert_equal "200", put.code, "#{kind}: PUT #{c["typed"].inspect} (key #{c["key"].inspect}): #{put.body}"
        presigned = signer.presign(url: url, region: "us-east-1", service: "s3", expires_in: 60)
        got = http.request(Net::HTTP::Get.new(URI(presigned).request_uri))
        assert_equal ["200", body], [got.code, got.body.force_encoding("UTF-8")], "#{kind}: presigned GET #{c["typed"].inspect}"
        "k#{format("%02d", i)}/#{c["key"]}"
      end
      listing = send_signed(signer, http, "GET", "#{s3.endpoint}/bucket?list-type=2")
      assert_equal "200", listing.code, listing.body
      keys = REXML::Document.new(listing.body).get_elements("//Key").map(&:text)
      assert_equal want.sort, keys.sort
    end
  ensure
    s3&.stop
    FileUtils.rm_rf(dir) if dir
  end
end
