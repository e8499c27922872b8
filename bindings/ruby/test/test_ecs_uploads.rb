# frozen_string_literal: true

# The seed's ECS failure: an app that fetches credentials per request is throttled by the ECS
# endpoint and fails with "unable to sign request without credentials". Here a Ruby process
# signs 1,000 uploads to s3s-fs on 127.0.0.1 (which verifies every signature) with credentials
# from an ECS-style endpoint that rate-limits like ECS agent 1.17.0.

require_relative "test_helper"

class TestEcsUploads < Minitest::Test
  UPLOADS = 1000

  def setup
    @dir = Dir.mktmpdir("realsig-ecs")
    Dir.mkdir(File.join(@dir, "s3"))
    @s3 = TestSupport::S3sFs.new(File.join(@dir, "s3"))
    # s3s-fs knows one key pair; the endpoint hands it out as temporary credentials.
    @ecs = TestSupport::FakeEcs.new(access_key_id: TestSupport::AKID, secret: TestSupport::SECRET)
    @http = Net::HTTP.start("127.0.0.1", URI(@s3.endpoint).port)
  end

  def teardown
    @http&.finish
    @ecs&.stop
    @s3&.stop
    FileUtils.rm_rf(@dir)
  end

  def send_signed(signer, method, path, body = nil, **sign_options)
    url = "#{@s3.endpoint}#{path}"
    headers = signer.sign(method: method, url: url, body: body, region: "us-east-1", service: "s3", **sign_options)
    request = Net::HTTPGenericRequest.new(method, !body.nil?, true, path, headers)
    request.body = body if body
    @http.request(request)
  end

  def test_1000_uploads_with_cached_ecs_credentials_all_succeed
    signer = Realsig::Signer.new(clock: Realsig::Clock.raw,
                                 credentials: Realsig::CredentialsProvider.ecs(@ecs.uri, authorization: FakeEcsToken))
    assert_equal "200", send_signed(signer, "PUT", "/uploads").code
    bodies = Array.new(UPLOADS) { |i| "object #{i} " + Random.bytes(64 + (i % 512)) }
    failures = bodies.each_with_index.reject do |body, i|
      send_signed(signer, "PUT", "/uploads/object-#{i}", body).code == "200"
    end
    assert_empty failures.map(&:last), "uploads that failed"
    assert_equal 1, signer.credential_fetches, "the cache asks the endpoint once for an hour's credentials"
    # The cache's credentials, as Signer#credentials hands them to other code (the aws-sdk adapter).
    cached = signer.credentials
    assert_equal [TestSupport::AKID, TestSupport::SECRET, "ecs-session-token"],
                 [cached.access_key_id, cached.secret_access_key, cached.session_token]
    assert_in_delta Time.now + 3600, cached.expiration, 5
    refute_includes cached.inspect, TestSupport::SECRET
    assert_equal 1, signer.credential_fetches, "handing them out is not a fetch"
    assert_equal 1, @ecs.requests
    assert_equal 0, @ecs.throttled
    # s3s-fs stored exactly what was sent; read a sample back through signed GETs.
    stored = Dir.children(File.join(@dir, "s3", "uploads")).grep(/\Aobject-\d+\z/)
    assert_equal UPLOADS, stored.size
    [0, 1, 499, 999].each do |i|
      got = send_signed(signer, "GET", "/uploads/object-#{i}")
      assert_equal "200", got.code
      assert_equal bodies[i].b, got.body.b
    end
  end

  def test_without_a_cache_the_endpoint_throttles_and_signing_fails
    # The seed's failure, so the test above is not passing against a lenient endpoint: fetch
    # credentials per upload, as the throttled apps did; an upload without them is a failure.
    signer = Realsig::Signer.new(clock: Realsig::Clock.raw)
    assert_equal "200", send_signed(signer, "PUT", "/uploads", credentials: TestSupport::CREDS).code
    failures = UPLOADS.times.count do |i|
      creds = fetch_ecs_credentials
      creds.nil? || send_signed(signer, "PUT", "/uploads/object-#{i}", "body #{i}", credentials: creds).code != "200"
    end
    assert_operator failures, :>, UPLOADS / 2
    assert_operator @ecs.throttled, :>, UPLOADS / 2
  end

  FakeEcsToken = TestSupport::FakeEcs::TOKEN

  private

  def fetch_ecs_credentials
    uri = URI(@ecs.uri)
    response = Net::HTTP.get_response(uri, { "Authorization" => FakeEcsToken })
    response.code == "200" ? JSON.parse(response.body) : nil
  end
end
