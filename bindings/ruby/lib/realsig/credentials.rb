# frozen_string_literal: true

module Realsig
  # AWS credentials. #inspect and #to_s show the access key id only. (For the environment's,
  # give none: a signer's default provider chain reads AWS_ACCESS_KEY_ID & co. first.)
  class Credentials
    # `expiration`: a Time for temporary credentials from a provider, else nil.
    attr_reader :access_key_id, :secret_access_key, :session_token, :expiration

    def initialize(access_key_id:, secret_access_key:, session_token: nil, expiration: nil)
      @access_key_id = access_key_id
      @secret_access_key = secret_access_key
      @session_token = session_token
      @expiration = expiration
      freeze
    end

    # Credentials from a Credentials, a Hash (access_key_id/secret_access_key/session_token,
    # or AWS's AccessKeyId/SecretAccessKey/Token; symbol or string keys), or any object with
    # #access_key_id, #secret_access_key and #session_token (aws-sdk-core's Aws::Credentials).
    def self.of(value)
      case value
      when Credentials then value
      when Hash
        pick = ->(*keys) { keys.lazy.flat_map { |k| [value[k], value[k.to_s]] }.find { |v| !v.nil? } }
        new(access_key_id: pick.(:access_key_id, :AccessKeyId),
            secret_access_key: pick.(:secret_access_key, :SecretAccessKey),
            session_token: pick.(:session_token, :Token, :SessionToken))
      else
        unless value.respond_to?(:access_key_id) && value.respond_to?(:secret_access_key)
          raise InvalidCredentials, "expected Realsig::Credentials, a Hash or an object with " \
                                    "access_key_id and secret_access_key, not #{value.class}"
        end
        new(access_key_id: value.access_key_id, secret_access_key: value.secret_access_key,
            session_token: value.respond_to?(:session_token) ? value.session_token : nil)
      end
    end

    def inspect = "#<Realsig::Credentials access_key_id=#{access_key_id.inspect} secret_access_key=[redacted]" \
                  "#{session_token ? " session_token=[redacted]" : ""}>"
    alias to_s inspect
  end

  # Where a Signer gets credentials when a call gives none. The signer caches them until
  # five minutes before they expire, judged by its REAL clock, refreshes single-flight and
  # backs off when the endpoint throttles while the cached ones still work (the reference
  # host's CredentialsCache).
  module CredentialsProvider
    Spec = Struct.new(:kind, :argument, :authorization) do
      def inspect = "#<Realsig::CredentialsProvider #{kind}#{argument ? " #{argument}" : ""}>"
      alias_method :to_s, :inspect
    end

    # The AWS CLI's order: environment, shared files (`profile`, else $AWS_PROFILE), the ECS
    # container endpoint, EC2 IMDSv2.
    def self.default(profile: nil) = Spec.new("default", profile, nil)

    # The ECS/EKS container endpoint: `uri`, else $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
    # _FULL_URI; `authorization`, else $AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
    def self.ecs(uri = nil, authorization: nil) = Spec.new("ecs", uri, authorization)
  end
end
