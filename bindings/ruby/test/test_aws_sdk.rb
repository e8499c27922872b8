# frozen_string_literal: true

# require "realsig/aws-sdk" with the real aws-sdk-ruby (Debian's ruby-aws-sdk-s3 1.117 and
# ruby-aws-sdk-core 3.168), in a child Ruby whose clock libfaketime sets 3 days back, against
# s3s-fs on 127.0.0.1 (which refuses requests 15 minutes off) with credentials from a loopback
# ECS endpoint rate-limited like ECS agent 1.17.0 (10 requests/s, burst 15, HTTP 429 beyond).
#
# The seed scenario: the original demo's loop builds a fresh Aws::S3::Client for every upload.
# Without realsig each client fetches its own credentials (throttled) and signs with the faked
# clock (refused); with it, every client shares one credentials cache and signs with the real
# time.

require_relative "test_helper"
require "json"
require "open3"

class TestAwsSdk < Minitest::Test
  UPLOADS = 500
  LIB = File.expand_path("../lib", __dir__)

  DEMO = <<~RUBY
    require "aws-sdk-s3"
    require "json"
    require "net/http"
    endpoint, mode, ecs_port, ecs_path, count = ARGV
    require "realsig/aws-sdk" if mode == "realsig"
    options = { region: "us-east-1", endpoint: endpoint, force_path_style: true, retry_limit: 0 }
    client = lambda do
      # Without realsig, the credentials of the original demo: an ECS provider per client.
      # (aws-sdk-core 3.168 reads only the _RELATIVE_URI form, fixed to 169.254.170.2.)
      extra = mode == "realsig" ? {} : { credentials: Aws::ECSCredentials.new(ip_address: "127.0.0.1", port: Integer(ecs_port),
                                                                            credential_path: ecs_path, retries: 0) }
      Aws::S3::Client.new(**options, **extra)
    end
    out = { "fake" => Time.now.to_f, "failures" => Hash.new(0), "uploaded" => 0 }
    begin
      client.call.create_bucket(bucket: "demo")
    rescue StandardError => e
      out["create"] = e.class.name
    end
    Integer(count).times do |i|
      client.call.put_object(bucket: "demo", key: "file-\#{i}.txt", body: "upload \#{i} " * 20)
      out["uploaded"] += 1
    rescue StandardError => e
      out["failures"]["\#{e.class.name}: \#{e.message[0, 70]}"] += 1
    end
    if mode == "realsig"
      s3 = client.call
      url = Aws::S3::Presigner.new(client: s3).presigned_url(:get_object, bucket: "demo", key: "file-7.txt", expires_in: 300)
      out["presigned"] = Net::HTTP.get_response(URI(url)).then { |r| [r.code, r.body] }
      url = Aws::S3::Resource.new(client: s3).bucket("demo").object("file-8.txt").presigned_url(:get)
      out["object_presigned"] = Net::HTTP.get_response(URI(url)).code
      out["listed"] = s3.list_objects_v2(bucket: "demo").key_count
    end
    puts JSON.generate(out)
  RUBY

  def setup
    @dir = Dir.mktmpdir("realsig-aws-sdk")
    Dir.mkdir(File.join(@dir, "s3"))
    @s3 = TestSupport::S3sFs.new(File.join(@dir, "s3"))
    @ecs = TestSupport::FakeEcs.new(access_key_id: TestSupport::AKID, secret: TestSupport::SECRET, token: nil)
  end

  def teardown
    @ecs&.stop
    @s3&.stop
    FileUtils.rm_rf(@dir)
  end

  def run_demo(mode, count = UPLOADS)
    env = { "AWS_EC2_METADATA_DISABLED" => "true", "AWS_CONFIG_FILE" => File.join(@dir, "none"),
            "AWS_SHARED_CREDENTIALS_FILE" => File.join(@dir, "none"), "AWS_CONTAINER_CREDENTIALS_FULL_URI" => @ecs.uri,
            "AWS_ACCESS_KEY_ID" => nil, "AWS_SECRET_ACCESS_KEY" => nil, "AWS_SESSION_TOKEN" => nil, "AWS_PROFILE" => nil,
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" => nil, "REALSIG_CLOCK" => nil,
            "LD_PRELOAD" => TestSupport.libfaketime, "FAKETIME" => "-3d" }
    uri = URI(@ecs.uri)
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-I", LIB, "-e", DEMO, @s3.endpoint, mode, uri.port.to_s, uri.path,
                                      count.to_s)
    assert status.success?, "the demo (#{mode}) failed: #{err}"
    JSON.parse(out.lines.last)
  end

  def test_without_realsig_the_demo_loop_is_throttled_and_refused
    got = run_demo("plain")
    assert_in_delta Time.now.to_f - (3 * 86_400), got["fake"], 60, "the child's clock was not faked"
    assert_equal 0, got["uploaded"], got
    assert_equal UPLOADS, got["failures"].values.sum, got
    # Both seed failures: the clock (refused by S3) and the throttled endpoint.
    assert got["failures"].keys.any? { |k| k.include?("RequestTimeTooSkewed") }, got["failures"].keys
    assert_operator @ecs.throttled, :>, 0, "the endpoint never throttled: the contrast is not the seed's"
    assert_operator @ecs.requests, :>, UPLOADS / 2
  end

  def test_with_realsig_every_fresh_client_uploads_with_one_cache_and_the_real_time
    got = run_demo("realsig")
    assert_in_delta Time.now.to_f - (3 * 86_400), got["fake"], 60, "the child's clock was not faked"
    assert_nil got["create"], got
    assert_equal({}, got["failures"])
    assert_equal UPLOADS, got["uploaded"]
    assert_operator @ecs.requests, :<=, 3, "the credentials endpoint was asked #{@ecs.requests} times"
    assert_equal 0, @ecs.throttled
    assert_equal ["200", "upload 7 " * 20], got["presigned"]
    assert_equal "200", got["object_presigned"]
    assert_equal UPLOADS, got["listed"]
    stored = Dir.children(File.join(@dir, "s3", "demo"))
    assert_equal UPLOADS, stored.size
  end

  def test_a_client_given_its_own_credentials_keeps_them
    script = <<~RUBY
      require "aws-sdk-s3"
      require "realsig/aws-sdk"
      own = Aws::Credentials.new("AKIDOWN", "own-secret")
      mine = Aws::S3::Client.new(region: "us-east-1", credentials: own).config.credentials
      shared = Aws::S3::Client.new(region: "us-east-1").config.credentials
      puts [mine.equal?(own), shared.class.name].inspect
    RUBY
    out, err, status = Open3.capture3({ "AWS_EC2_METADATA_DISABLED" => "true" }, RbConfig.ruby, "-I", LIB, "-e", script)
    assert status.success?, err
    assert_equal "[true, \"Realsig::AwsSdk::CredentialProvider\"]", out.strip
  end

  def test_a_clock_without_a_reading_refuses_to_sign
    script = <<~RUBY
      require "aws-sdk-s3"
      require "realsig/aws-sdk"
      Realsig::AwsSdk.clock = "faketimefs:/nonexistent/realtime"
      s3 = Aws::S3::Client.new(region: "us-east-1", endpoint: ARGV[0], force_path_style: true, retry_limit: 0,
                               credentials: Aws::Credentials.new("#{TestSupport::AKID}", "#{TestSupport::SECRET}"))
      begin
        s3.list_buckets
        puts "signed"
      rescue Realsig::ClockUnavailable => e
        puts "refused: \#{e.message}"
      end
    RUBY
    out, err, status = Open3.capture3({ "AWS_EC2_METADATA_DISABLED" => "true" }, RbConfig.ruby, "-I", LIB, "-e", script,
                                      @s3.endpoint)
    assert status.success?, err
    assert_match(/\Arefused: realsig: aws-sdk cannot sign without the real time: .*cannot read the file/, out.strip)
    refute_includes out, TestSupport::SECRET
  end
end
