# frozen_string_literal: true

# The signing surface beyond SigV4 through the gem: SigV4a against the official v4a suite
# (signatures verified with each case's public key by OpenSSL), aws-chunked uploads of files
# to s3s-fs on 127.0.0.1 (which verifies the chunk chain) and against AWS's worked example,
# POST policies and event-stream messages against the documented algorithms computed here
# with OpenSSL::HMAC.

require_relative "test_helper"
require "openssl"
require "tempfile"

class TestSurface < Minitest::Test
  SUITE = TestSupport.vectors_dir.join("aws-signing-test-suite", "v4a")
  CASES = SUITE.children.select(&:directory?).map { |d| d.basename.to_s }.sort
  # Upstream has no query form (or neither form) for some cases: those are not trials.
  FORMS = CASES.product(%w[header query]).select { |name, form| SUITE.join(name, "#{form}-canonical-request.txt").file? }

  def test_the_v4a_suite_has_cases
    assert_operator CASES.size, :>=, 30, CASES
    assert_operator FORMS.size, :>=, 60, FORMS
  end

  # The case's public key (X, Y) as an OpenSSL key, through its SubjectPublicKeyInfo.
  def public_key(dir)
    xy = JSON.parse(dir.join("public-key.json").read)
    point = "\x04".b + [xy.fetch("X")].pack("H*") + [xy.fetch("Y")].pack("H*")
    algorithm = OpenSSL::ASN1::Sequence([OpenSSL::ASN1::ObjectId("id-ecPublicKey"), OpenSSL::ASN1::ObjectId("prime256v1")])
    OpenSSL::PKey::EC.new(OpenSSL::ASN1::Sequence([algorithm, OpenSSL::ASN1::BitString(point)]).to_der)
  end

  def check_v4a(name, form)
    dir = SUITE.join(name)
    out = TestSupport.sign_case(dir, form, sigv4a: true)
    assert_equal dir.join("#{form}-canonical-request.txt").read.rstrip, out.canonical_request
    assert_equal dir.join("#{form}-string-to-sign.txt").read.rstrip, out.string_to_sign
    assert_includes out.url, "X-Amz-Signature=#{out.signature}" if form == "query"
    # ECDSA signatures are not the suite's bytes: they must verify with the case's key.
    key = public_key(dir)
    signature = [out.signature].pack("H*")
    assert key.verify("SHA256", signature, out.string_to_sign), "the signature verifies"
    refute key.verify("SHA256", signature, "#{out.string_to_sign}x"), "a control: not any string verifies"
  end

  FORMS.each do |name, form|
    define_method("test_v4a_#{name.tr('-', '_')}_#{form}") { check_v4a(name, form) }
  end

  def test_sigv4a_takes_an_array_as_the_region_set
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.utc(2015, 8, 30, 12, 36)))
    out = signer.sign_details(url: "https://example.amazonaws.com/", region: %w[us-east-1 us-west-2],
                              service: "service", credentials: TestSupport::CREDS, sigv4a: true)
    assert_equal "us-east-1,us-west-2", out.headers["x-amz-region-set"]
    assert_match %r{\AAWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/service/aws4_request, }, out.authorization
  end

  # AWS S3 documentation: "Signature Calculations for the Authorization Header: Transferring
  # Payload in Multiple Chunks": 66,560 bytes of "a" in 64 KiB chunks.
  def test_a_chunked_upload_frames_the_documented_example
    Tempfile.create("chunk") do |file|
      file.write("a" * 66_560)
      file.flush
      signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.utc(2013, 5, 24)))
      upload = signer.chunked_upload(
        url: "https://s3.amazonaws.com/examplebucket/chunkObject.txt", path: file.path, region: "us-east-1",
        headers: { "x-amz-storage-class" => "REDUCED_REDUNDANCY" },
        credentials: { access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }
      )
      assert_equal "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", upload.signed.signature
      assert_equal "66824", upload.headers["content-length"]
      assert_equal 66_824, upload.body.size
      assert_equal "", upload.body.read(0), "a zero-length read reads nothing, as IO#read"
      body = +"".b
      while (piece = upload.body.read(1000)) # small reads: the framing is read in pieces
        body << piece
      end
      assert_equal 66_824, body.bytesize
      signatures = body.scan(/chunk-signature=(\h{64})/).flatten
      assert_equal %w[ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648
                      0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497
                      b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9], signatures
      assert_nil upload.body.read(10), "the end stays the end"
    end
  end

  def with_s3
    dir = Dir.mktmpdir("realsig-surface")
    Dir.mkdir(File.join(dir, "s3"))
    s3 = TestSupport::S3sFs.new(File.join(dir, "s3"))
    Net::HTTP.start("127.0.0.1", URI(s3.endpoint).port) { |http| yield s3, http, dir }
  ensure
    s3&.stop
    FileUtils.rm_rf(dir) if dir
  end

  def put_file(signer, s3, http, path, file, **upload)
    upload = signer.chunked_upload(url: "#{s3.endpoint}#{path}", path: file, region: "us-east-1", **upload)
    request = Net::HTTP::Put.new(path, upload.headers)
    request.body_stream = upload.body
    http.request(request)
  end

  def signed_request(signer, http, s3, method, path)
    headers = signer.sign(method: method, url: "#{s3.endpoint}#{path}", region: "us-east-1", service: "s3")
    http.request(Net::HTTPGenericRequest.new(method, false, true, path, headers))
  end

  def test_chunked_uploads_of_a_file_to_s3s_fs_are_verified_and_read_back
    signer = Realsig::Signer.new(clock: Realsig::Clock.raw, credentials: TestSupport::CREDS)
    with_s3 do |s3, http, dir|
      assert_equal "200", signed_request(signer, http, s3, "PUT", "/bucket").code
      data = Random.bytes((3 << 20) + 12_345)
      file = File.join(dir, "data")
      File.binwrite(file, data)
      [[:signed, nil], [:signed_with_trailer, :crc32c], [:signed_with_trailer, :sha256],
       [:unsigned_with_trailer, :crc32]].each do |mode, checksum|
        path = "/bucket/#{mode}-#{checksum}"
        response = put_file(signer, s3, http, path, file, mode: mode, checksum: checksum)
        assert_equal "200", response.code, "#{mode} #{checksum}: #{response.body}"
        got = signed_request(signer, http, s3, "GET", path)
        assert_equal data, got.body.b, "#{mode} #{checksum} read back"
      end
    end
  end

  def test_chunked_refusals_are_typed
    signer = Realsig::Signer.new(clock: Realsig::Clock.raw, credentials: TestSupport::CREDS)
    Tempfile.create("chunk") do |file|
      assert_raises(Realsig::InvalidOption) do
        signer.chunked_upload(url: "https://b.s3.amazonaws.com/k", path: file.path, region: "us-east-1", checksum: :crc32)
      end
      assert_raises(Realsig::InvalidOption) do
        signer.chunked_upload(url: "https://b.s3.amazonaws.com/k", path: file.path, region: "us-east-1", mode: :nonsense)
      end
      assert_raises(Realsig::InvalidOption) do
        signer.chunked_upload(url: "https://b.s3.amazonaws.com/k", path: file.path, region: "us-east-1",
                              mode: :signed_with_trailer, checksum: :md5)
      end
    end
    error = assert_raises(IOError) do
      signer.chunked_upload(url: "https://b.s3.amazonaws.com/k", path: "/nonexistent/file", region: "us-east-1")
    end
    assert_includes error.message, "/nonexistent/file"
  end

  def signing_key(secret, date, region, service)
    [date, region, service, "aws4_request"].reduce("AWS4#{secret}") { |key, part| OpenSSL::HMAC.digest("SHA256", key, part) }
  end

  def test_a_post_policy_is_the_document_it_says_signed_with_the_sigv4_key
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.utc(2015, 12, 29)))
    creds = { access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
              session_token: "TOKEN-EXAMPLE" }
    form = signer.post_policy(
      conditions: [{ "bucket" => "sigv4examplebucket" }, ["starts-with", "$key", "user/user1/"],
                   ["content-length-range", 1, 1_048_576]],
      region: "us-east-1", credentials: creds
    )
    assert_equal %w[policy x-amz-algorithm x-amz-credential x-amz-date x-amz-security-token x-amz-signature],
                 form.fields.keys
    assert_equal ["x-amz-security-token"], form.sensitive_fields
    refute_includes form.inspect, "TOKEN-EXAMPLE"
    doc = JSON.parse(form.policy_document)
    assert_equal "2015-12-29T01:00:00Z", doc["expiration"]
    assert_equal [["eq", "$bucket", "sigv4examplebucket"], ["starts-with", "$key", "user/user1/"],
                  ["content-length-range", 1, 1_048_576]], doc["conditions"].first(3)
    assert_includes doc["conditions"], { "x-amz-security-token" => "TOKEN-EXAMPLE" }
    expected = OpenSSL::HMAC.hexdigest("SHA256", signing_key(creds[:secret_access_key], "20151229", "us-east-1", "s3"),
                                       form.fields["policy"])
    assert_equal expected, form.signature
    assert_equal expected, form.fields["x-amz-signature"]
    assert_raises(Realsig::InvalidOption) { signer.post_policy(conditions: [["nope", "$a", "b"]], region: "us-east-1") }
  end

  def test_event_stream_messages_follow_the_documented_chain
    now = Time.utc(2026, 11, 22, 23, 59, 58.25r)
    signer = Realsig::Signer.new { now }
    prior = "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b"
    stream = signer.event_stream(prior, region: "us-west-2", service: "transcribe", credentials: TestSupport::CREDS)
    # Three messages and the closing empty frame, across midnight (the key changes date).
    ["first audio frame", "\0".b * 4096, "last", ""].each do |message|
      date, signature = stream.sign_message(message)
      assert_equal Time.at(now.to_i, in: "UTC"), date, "the :date header is the signing time, whole seconds"
      # The documented string to sign, computed here: the :date header encoded as an
      # event-stream timestamp (type 8, big-endian milliseconds).
      date_header = [5].pack("C") + ":date" + [8, date.to_i * 1000].pack("Cq>")
      string_to_sign = ["AWS4-HMAC-SHA256-PAYLOAD", date.strftime("%Y%m%dT%H%M%SZ"),
                        "#{date.strftime('%Y%m%d')}/us-west-2/transcribe/aws4_request", prior,
                        Digest::SHA256.hexdigest(date_header), Digest::SHA256.hexdigest(message)].join("\n")
      key = signing_key(TestSupport::SECRET, date.strftime("%Y%m%d"), "us-west-2", "transcribe")
      assert_equal OpenSSL::HMAC.digest("SHA256", key, string_to_sign), signature
      prior = signature.unpack1("H*")
      now += 1.5
    end
    stream.close
    assert_raises(Realsig::InvalidOption) { stream.sign_message("") }
  end
end
