# frozen_string_literal: true

# The gem's API: what it returns, its typed errors (never with the secret), credentials in
# their accepted forms, bodies as Strings and IOs, threads, and the exported surface.

require_relative "test_helper"
require "stringio"

class TestApi < Minitest::Test
  WHEN = Time.utc(2015, 8, 30, 12, 36, 0)
  VANILLA = { url: "https://example.amazonaws.com/", region: "us-east-1", service: "service",
              credentials: TestSupport::CREDS }.freeze
  # The suite's get-vanilla signature (aws-signing-test-suite/v4/get-vanilla/header-signature.txt).
  VANILLA_SIGNATURE = TestSupport.vectors_dir.join("aws-signing-test-suite", "v4", "get-vanilla",
                                                   "header-signature.txt").read.strip

  def signer = (@signer ||= Realsig::Signer.new(clock: Realsig::Clock.fixed(WHEN)))

  def test_sign_returns_the_headers_to_add
    headers = signer.sign(**VANILLA)
    assert_equal %w[authorization x-amz-date], headers.keys.sort, "host comes from the URL; nothing else to add"
    assert_equal "20150830T123600Z", headers["x-amz-date"]
    assert_includes headers["authorization"], "Signature=#{VANILLA_SIGNATURE}"
  end

  def test_sign_details
    out = signer.sign_details(**VANILLA, debug: true)
    assert_equal VANILLA_SIGNATURE, out.signature
    assert_equal WHEN, out.signing_time
    assert out.canonical_request.start_with?("GET\n/\n\n"), out.canonical_request
    assert out.string_to_sign.start_with?("AWS4-HMAC-SHA256\n20150830T123600Z\n")
    assert_equal out.headers["authorization"], out.authorization
  end

  def test_module_level_sign_and_presign_use_the_default_chain
    ENV["AWS_ACCESS_KEY_ID"] = TestSupport::AKID
    ENV["AWS_SECRET_ACCESS_KEY"] = TestSupport::SECRET
    headers = Realsig.sign(url: VANILLA[:url], region: "us-east-1", service: "service")
    assert_match(%r{\AAWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/us-east-1/service/aws4_request, }, headers["authorization"])
    signed_at = Time.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%S%z")
    assert_in_delta Time.now.to_f, signed_at.to_f, 5, "the default clock is the raw kernel clock"
    assert_includes Realsig.presign(url: VANILLA[:url], region: "us-east-1", service: "service"), "X-Amz-Expires=900"
  ensure
    ENV.delete("AWS_ACCESS_KEY_ID")
    ENV.delete("AWS_SECRET_ACCESS_KEY")
  end

  def test_presign_puts_the_signature_in_the_url
    url = signer.presign(**VANILLA, expires_in: 3600)
    query = URI.decode_www_form(URI(url).query).to_h
    assert_equal "AWS4-HMAC-SHA256", query["X-Amz-Algorithm"]
    assert_equal "3600", query["X-Amz-Expires"]
    assert_equal "20150830T123600Z", query["X-Amz-Date"]
    assert_match(/\A\h{64}\z/, query["X-Amz-Signature"])
  end

  def test_the_session_token_is_signed_and_kept_out_of_inspect
    creds = Realsig::Credentials.new(access_key_id: "ASIAEXAMPLE", secret_access_key: "secret-XYZ",
                                     session_token: "token-SECRET-123")
    out = signer.sign_details(**VANILLA, credentials: creds)
    assert_equal "token-SECRET-123", out.headers["x-amz-security-token"]
    assert_equal ["x-amz-security-token"], out.sensitive_headers
    [out.inspect, creds.inspect, creds.to_s].each do |shown|
      refute_includes shown, "token-SECRET-123"
      refute_includes shown, "secret-XYZ"
    end
    assert_includes creds.inspect, "ASIAEXAMPLE"
  end

  def test_credentials_as_a_hash_an_aws_style_object_or_the_signers_own
    expected = signer.sign(**VANILLA)["authorization"]
    aws_json = { "AccessKeyId" => TestSupport::AKID, "SecretAccessKey" => TestSupport::SECRET }
    duck = Struct.new(:access_key_id, :secret_access_key, :session_token).new(TestSupport::AKID, TestSupport::SECRET, nil)
    [aws_json, { access_key_id: TestSupport::AKID, secret_access_key: TestSupport::SECRET }, duck].each do |given|
      assert_equal expected, signer.sign(**VANILLA, credentials: given)["authorization"], given.class.to_s
    end
    own = Realsig::Signer.new(clock: Realsig::Clock.fixed(WHEN), credentials: TestSupport::CREDS)
    assert_equal expected, own.sign(**VANILLA.except(:credentials))["authorization"]
  end

  def test_no_credentials_anywhere_is_a_credentials_error
    error = assert_raises(Realsig::CredentialsError) { signer.sign(**VANILLA.except(:credentials)) }
    assert_match(/environment|AWS_ACCESS_KEY_ID|not/i, error.message)
  end

  def test_s3_rules_apply_to_service_s3_and_can_be_overridden
    s3 = { url: "https://bucket.s3.amazonaws.com/a//b/../c%20d", region: "us-east-1", service: "s3",
           credentials: TestSupport::CREDS, debug: true }
    out = signer.sign_details(**s3, body: "hello")
    assert_equal Digest::SHA256.hexdigest("hello"), out.headers["x-amz-content-sha256"]
    assert_equal "/a//b/../c%20d", out.canonical_request.lines[1].chomp, "S3 keys are neither normalised nor re-encoded"
    overridden = signer.sign_details(**s3, normalize_path: true, double_uri_encode: true, content_sha256_header: false)
    assert_equal "/a/c%2520d", overridden.canonical_request.lines[1].chomp
    assert_nil overridden.headers["x-amz-content-sha256"]
    unsigned = signer.sign(**s3, unsigned_payload: true)
    assert_equal "UNSIGNED-PAYLOAD", unsigned["x-amz-content-sha256"]
  end

  def test_a_body_as_a_string_an_io_or_a_hash_signs_the_same
    body = Random.bytes(3 << 20) # more than one 1 MiB read
    from_string = signer.sign(**VANILLA, method: "PUT", body: body)
    io = StringIO.new(body)
    assert_equal from_string, signer.sign(**VANILLA, method: "PUT", body: io)
    assert_equal 0, io.pos, "the IO is rewound for sending"
    assert_equal from_string, signer.sign(**VANILLA, method: "PUT", body_sha256: Digest::SHA256.hexdigest(body))
    refute_equal from_string, signer.sign(**VANILLA, method: "PUT", body: "#{body}x")
  end

  BAD = {
    url: [{ url: "ftp://example.com/" }, Realsig::InvalidUrl],
    url_type: [{ url: 42 }, Realsig::InvalidUrl],
    url_bytes: [{ url: "https://example.amazonaws.com/\xff".b }, Realsig::InvalidUrl],
    method: [{ method: "GE T" }, Realsig::InvalidMethod],
    header_name: [{ headers: { "bad name" => "x" } }, Realsig::InvalidHeaderName],
    header_value: [{ headers: { "x-ok" => "a\nb" } }, Realsig::InvalidHeaderValue],
    header_value_type: [{ headers: { "x-ok" => [1] } }, Realsig::InvalidHeaderValue],
    headers_type: [{ headers: "x-ok: 1" }, Realsig::InvalidHeaderName],
    payload_hash: [{ body_sha256: "abc" }, Realsig::InvalidPayloadHash],
    two_bodies: [{ body: "a", body_sha256: "b" * 64 }, Realsig::InvalidOption],
    body_type: [{ body: 12 }, Realsig::InvalidOption],
    region: [{ region: "" }, Realsig::InvalidOption],
    expires: [{ expires_in: 604_801 }, Realsig::InvalidOption],
    expires_type: [{ expires_in: "60" }, Realsig::InvalidOption],
    akid: [{ credentials: { access_key_id: "", secret_access_key: TestSupport::SECRET } }, Realsig::InvalidCredentials],
    secret_bytes: [{ credentials: { access_key_id: "AKID", secret_access_key: "#{TestSupport::SECRET}\xff".b } },
                   Realsig::InvalidCredentials],
    creds_type: [{ credentials: 7 }, Realsig::InvalidCredentials]
  }.freeze

  BAD.each do |name, (change, error)|
    define_method("test_bad_#{name}_is_#{error.code.tr("-", "_")}") do
      raised = assert_raises(error) { signer.sign(**VANILLA, **change) }
      assert_kind_of Realsig::SignError, raised
      assert_equal error.code, raised.code
      refute_empty raised.message
      refute_includes raised.message, TestSupport::SECRET
      refute_includes raised.inspect, TestSupport::SECRET
      assert signer.sign(**VANILLA)["authorization"], "still signing after the error"
    end
  end

  def test_one_signer_from_many_threads
    requests = Array.new(8) { |t| Array.new(100) { |i| VANILLA.merge(url: "https://example.amazonaws.com/#{t}/#{i}") } }
    expected = requests.map { |batch| batch.map { |r| signer.sign(**r)["authorization"] } }
    got = requests.map { |batch| Thread.new { batch.map { |r| signer.sign(**r)["authorization"] } } }.map(&:value)
    assert_equal expected, got
  end

  def test_the_exported_api
    assert_equal %i[chunked_upload clock credential_fetches credentials event_stream post_policy presign sign sign_details],
                 (Realsig::Signer.public_instance_methods(false) - [:inspect]).sort
    assert_equal %i[chain default fixed ntp parse raw realtime_file system], (Realsig::Clock.singleton_methods(false)).sort
    assert_equal %i[default_signer presign sign], Realsig.singleton_methods(false).sort
    assert_equal %w[clock-unavailable invalid-credentials invalid-header-name invalid-header-value invalid-method
                    invalid-option invalid-payload-hash invalid-url], Realsig::SIGN_ERRORS.keys.sort
    assert(Realsig::SIGN_ERRORS.values.all? { |c| c < Realsig::SignError && c < Realsig::Error })
    assert_operator Realsig::ComponentFailure, :<, Realsig::Error
  end
end
