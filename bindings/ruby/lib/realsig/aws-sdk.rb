# frozen_string_literal: true

# require "realsig/aws-sdk": every aws-sdk-ruby v3 client signs and presigns with the real time,
# and takes its credentials from one process-wide realsig credentials cache unless it is given
# its own.
#
#   require "aws-sdk-s3"
#   require "realsig/aws-sdk"
#   Aws::S3::Client.new(region: "us-east-1").put_object(bucket: "b", key: "k", body: "x")
#
# What changes, in aws-sigv4's Aws::Sigv4::Signer (the signer of every service, of
# Aws::S3::Presigner and of the STS calls behind assume-role credentials): #sign_request signs
# at realsig's clock (it replaces the X-Amz-Date the SDK's clock-skew correction may have
# set: that is a guess from a refused request), and #presign_url dates the URL by it unless
# the call passes its own `time:`.
#
# Credentials: Aws.config[:credentials] becomes Realsig::AwsSdk.credentials, realsig's default
# chain (environment, shared files, the container endpoint incl. AWS_CONTAINER_CREDENTIALS_FULL_URI,
# IMDSv2) behind one cache for the process: fetched once, refreshed five minutes before expiry by
# the real clock, single-flight, backing off while an endpoint throttles. An Aws.config
# [:credentials] set before this file is required, or a client's own `credentials:`, wins.
#
# The clock: Realsig::AwsSdk.clock, $REALSIG_CLOCK's chain (the realsig CLI's --clock syntax)
# when set, else Realsig::Clock.default. When it has no reading, signing raises
# Realsig::ClockUnavailable and nothing is sent.
#
# Not covered: event-stream message signing (Aws::Sigv4::Signer#sign_event reads Time.now
# inside) and Aws::S3::PresignedPost (its policy dates come from Time.now).
require "aws-sdk-core"
require_relative "../realsig"

module Realsig
  # The aws-sdk-ruby adapter; see lib/realsig/aws-sdk.rb.
  module AwsSdk
    @lock = Mutex.new

    class << self
      # The clock every client signs with.
      def clock
        @lock.synchronize do
          @clock ||= ENV.fetch("REALSIG_CLOCK", "").strip.then { |s| s.empty? ? Clock.default : Clock.parse(s) }
        end
      end

      # Replaces the clock (and so the signer behind the shared credentials cache).
      def clock=(clock)
        @lock.synchronize do
          @clock = clock.is_a?(String) ? Clock.parse(clock) : clock
          @signer = nil
        end
      end

      # The realsig Signer holding the process-wide credentials cache (the default chain).
      def signer
        c = clock
        @lock.synchronize { @signer ||= Signer.new(clock: c) }
      end

      # The aws-sdk credentials provider backed by that cache.
      def credentials = @credentials ||= CredentialProvider.new

      # The real time, as a Time; raises ClockUnavailable (nothing is signed) when the clock has
      # no reading.
      def now
        clock.now.time
      rescue ClockError => e
        raise ClockUnavailable, "realsig: aws-sdk cannot sign without the real time: #{e.message}"
      end

      # X-Amz-Date's form of the real time.
      def amz_date = now.utc.strftime("%Y%m%dT%H%M%SZ")
    end

    # An aws-sdk credentials provider (#credentials, #set?) over a realsig Signer's cache.
    class CredentialProvider
      include Aws::CredentialProvider

      def initialize(signer = nil)
        @signer = signer
      end

      # Aws::Credentials from the cache; raises Realsig::CredentialsError with the chain's
      # reasons when no source has credentials.
      def credentials
        c = (@signer || AwsSdk.signer).credentials
        Aws::Credentials.new(c.access_key_id, c.secret_access_key, c.session_token)
      end

      def set? = credentials.set?

      def inspect = "#<Realsig::AwsSdk::CredentialProvider>"
    end

    # Prepended to Aws::Sigv4::Signer.
    module RealTime
      def sign_request(request)
        headers = (request[:headers] || {}).to_h.reject { |name, _| name.to_s.casecmp?("x-amz-date") }
        super(request.merge(headers: headers.merge("X-Amz-Date" => AwsSdk.amz_date)))
      end

      def presign_url(options)
        super(options[:time] ? options : options.merge(time: AwsSdk.now))
      end
    end
  end
end

Aws::Sigv4::Signer.prepend(Realsig::AwsSdk::RealTime)
Aws.config[:credentials] = Realsig::AwsSdk.credentials unless Aws.config.key?(:credentials)
