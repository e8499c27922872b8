# frozen_string_literal: true

# Every case of the official v4 suite, header and query form, through the gem: canonical
# request, string to sign and signature equal the suite's files. One test per case and form,
# generated from the folders.

require_relative "test_helper"

class TestVectors < Minitest::Test
  SUITE = TestSupport.vectors_dir.join("aws-signing-test-suite", "v4")
  CASES = SUITE.children.select(&:directory?).map { |d| d.basename.to_s }.sort

  def test_the_suite_has_cases
    assert_operator CASES.size, :>=, 30, CASES
  end

  def check(name, form)
    dir = SUITE.join(name)
    ctx = JSON.parse(dir.join("context.json").read)
    method, target, headers, body = TestSupport.parse_request(dir.join("request.txt").binread)
    host = headers.find { |n, _| n.casecmp?("host") }.last
    creds = ctx.fetch("credentials")
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.iso8601(ctx.fetch("timestamp"))))
    out = signer.sign_details(
      method: method, url: "https://#{host}#{target}", headers: headers, body: body,
      credentials: { access_key_id: creds["access_key_id"], secret_access_key: creds["secret_access_key"],
                     session_token: creds["token"] },
      region: ctx.fetch("region"), service: ctx.fetch("service"),
      normalize_path: ctx.fetch("normalize", true), content_sha256_header: ctx.fetch("sign_body", false),
      omit_session_token: ctx.fetch("omit_session_token", false),
      expires_in: form == "query" ? ctx.fetch("expiration_in_seconds") : nil, debug: true
    )
    expect = ->(part) { dir.join("#{form}-#{part}.txt").read.rstrip }
    assert_equal expect.("canonical-request"), out.canonical_request
    assert_equal expect.("string-to-sign"), out.string_to_sign
    assert_equal expect.("signature"), out.signature
    if form == "query"
      assert out.url.end_with?("X-Amz-Signature=#{expect.("signature")}"), out.url
    else
      assert_includes out.headers.fetch("authorization"), "Signature=#{expect.("signature")}"
    end
  end

  CASES.each do |name|
    %w[header query].each do |form|
      define_method("test_#{name}_#{form}") { check(name, form) }
    end
  end
end
