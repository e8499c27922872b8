# frozen_string_literal: true

require "digest"

module Realsig
  # What the component returned. #headers are the headers to add (lowercase names, replacing
  # any of the same name); #url is the URL to send (presigned in query placement).
  # #inspect hides the values of #sensitive_headers (the session token).
  Signed = Struct.new(:headers, :url, :signature, :signing_time, :canonical_request, :string_to_sign,
                      :sensitive_headers, keyword_init: true) do
    def authorization = headers["authorization"]

    def inspect
      shown = headers.to_h { |name, value| [name, sensitive_headers.include?(name) ? "[redacted]" : value] }
      "#<Realsig::Signed signature=#{signature} signing_time=#{signing_time.iso8601(3)} headers=#{shown}>"
    end
    alias_method :to_s, :inspect
  end

  # Signs requests with the realsig component (in wasmtime, inside this process) at the real
  # time its clock gives.
  #
  #   signer = Realsig::Signer.new(clock: Realsig::Clock.ntp("169.254.169.123"))
  #   headers = signer.sign(method: "PUT", url: "https://bucket.s3.us-east-1.amazonaws.com/key",
  #                         body: File.open("backup.tar"), region: "us-east-1", service: "s3")
  #   request.merge!(headers)
  #
  # The clock is a Clock, the CLI's --clock text, or a block (or anything with #call)
  # returning a Time: `Realsig::Signer.new { my_trusted_time }`. Without one, the default
  # chain (realtime file if $FAKETIME_REALTIME_FILE is set, then the raw kernel clock).
  #
  # Credentials are given per call, or come from `credentials:` here: static Credentials (or
  # a Hash, or an Aws::Credentials), or a CredentialsProvider (default: the AWS CLI's chain),
  # cached by the real time.
  #
  # The component is compiled once (and cached on disk); instances are pooled and reused.
  # Safe to share between threads. A call releases the GVL while it reads the clock, fetches
  # credentials and signs (a first NTP exchange or an HTTP fetch does not stall other threads).
  class Signer
    MAX_EXPIRES = 604_800
    DEFAULT_EXPIRES = 900

    attr_reader :clock

    def initialize(clock: nil, credentials: nil, &block)
      raise ArgumentError, "give clock: or a block, not both" if clock && block

      clock ||= block || Clock.default
      clock = Clock.parse(clock) if clock.is_a?(String)
      case clock
      when Clock then @read = nil
      when ->(c) { c.respond_to?(:call) } then @read = clock
      else raise ArgumentError, "clock: must be a Realsig::Clock, a clock spec String or callable, not #{clock.class}"
      end
      @clock = clock
      provider, @credentials = provider_and_static(credentials)
      @native = Native::Signer.new(@read ? nil : clock.native, @read ? "ruby" : clock.name,
                                   [provider.kind, provider.argument, provider.authorization])
    end

    # Signs a request and returns the headers to add, a Hash (lowercase names).
    #
    # `body` is a String (hashed here, never copied into the component) or an IO (read to its
    # end in 1 MiB pieces, then rewound if it can be); or give `body_sha256` (hex), or
    # `unsigned_payload: true`. With `service: "s3"` the S3 rules apply unless overridden: no
    # double URI encoding, no path normalisation, an x-amz-content-sha256 header.
    def sign(**request) = sign_details(**request).headers

    # A presigned URL (default 15 minutes, at most 7 days); takes #sign's keywords.
    def presign(expires_in: DEFAULT_EXPIRES, **request)
      sign_details(expires_in: expires_in, **request).url
    end

    # Like #sign, but returns the whole Signed (signature, signing time, and with `debug: true`
    # the canonical request and string to sign).
    def sign_details(url:, region:, service:, method: "GET", headers: nil, body: nil, body_sha256: nil,
                     unsigned_payload: false, credentials: nil, expires_in: nil, double_uri_encode: nil,
                     normalize_path: nil, content_sha256_header: nil, omit_session_token: false, debug: false)
      s3 = service == "s3"
      options = [expires(expires_in), flag(double_uri_encode, !s3), flag(normalize_path, !s3),
                 flag(content_sha256_header, s3), omit_session_token ? true : false, debug ? true : false]
      creds = credentials.nil? ? @credentials : Credentials.of(credentials)
      creds &&= [text(creds.access_key_id, "the access key id", InvalidCredentials),
                 text(creds.secret_access_key, "the secret access key", InvalidCredentials),
                 creds.session_token && text(creds.session_token, "the session token", InvalidCredentials)]
      out = @native.sign(text(method, "the method", InvalidMethod), text(url, "the url", InvalidUrl),
                         header_pairs(headers), payload(body, body_sha256, unsigned_payload), creds,
                         [text(region, "the region", InvalidOption), text(service, "the service", InvalidOption)],
                         options, @read ? read_clock : [nil, nil])
      added, signed_url, signature, secs, nanos, canonical, string_to_sign = out
      Signed.new(headers: added.to_h { |name, value, _| [name, value] }, url: signed_url, signature: signature,
                 signing_time: Time.at(secs, nanos, :nsec, in: "UTC"), canonical_request: canonical,
                 string_to_sign: string_to_sign, sensitive_headers: added.select(&:last).map(&:first).freeze)
    end

    # How many times the credentials provider has been asked (the cache's fetches).
    def credential_fetches = @native.credential_fetches

    def inspect = "#<Realsig::Signer clock=#{@native.clock_name}>"

    private

    def provider_and_static(credentials)
      case credentials
      when nil then [CredentialsProvider.default, nil]
      when CredentialsProvider::Spec then [credentials, nil]
      else [CredentialsProvider.default, Credentials.of(credentials)]
      end
    end

    # The time from a Ruby clock, read before entering the component, or why there is none
    # (the component then refuses with clock-unavailable).
    def read_clock
      time = @read.call
      return [nil, "the clock returned #{time.class}, not a Time"] unless time.is_a?(Time)
      return [nil, "the clock returned a time before 1970"] if time.to_i.negative?

      [[time.to_i, time.nsec], nil]
    rescue StandardError => e
      [nil, "the clock raised #{e.class}: #{e.message}"]
    end

    def flag(value, default) = value.nil? ? default : (value ? true : false)

    def expires(seconds)
      return nil if seconds.nil?
      return seconds if seconds.is_a?(Integer) && seconds.between?(1, MAX_EXPIRES)

      raise InvalidOption, "expires_in must be an Integer in 1..#{MAX_EXPIRES}, not #{seconds.inspect}"
    end

    # `value` as a UTF-8 String the component can take; `error` names the field otherwise.
    def text(value, what, error)
      raise error, "#{what} must be a String, not #{value.class}" unless value.is_a?(String)

      utf8 = value.encoding == Encoding::BINARY ? value.dup.force_encoding(Encoding::UTF_8) : value.encode(Encoding::UTF_8)
      raise error, "#{what} is not valid UTF-8" unless utf8.valid_encoding?

      utf8
    rescue EncodingError
      raise error, "#{what} cannot be converted to UTF-8 (from #{value.encoding})"
    end

    def header_pairs(headers)
      pairs = case headers
              when nil then []
              when Hash then headers.to_a
              when Array then headers
              else raise InvalidHeaderName, "headers must be a Hash or an Array of [name, value], not #{headers.class}"
              end
      pairs.map do |pair|
        unless pair.is_a?(Array) && pair.size == 2
          raise InvalidHeaderName, "each header must be a [name, value] pair, not #{pair.class}"
        end

        name, value = pair
        name = name.to_s if name.is_a?(Symbol)
        value = value.to_s if value.is_a?(Numeric)
        name = text(name, "a header name", InvalidHeaderName)
        [name, text(value, "the value of header #{name.inspect}", InvalidHeaderValue)]
      end
    end

    def payload(body, body_sha256, unsigned)
      given = [!body.nil?, !body_sha256.nil?, unsigned].count(true)
      raise InvalidOption, "give at most one of body, body_sha256 and unsigned_payload" if given > 1
      return ["unsigned", nil] if unsigned
      return ["sha256-hex", text(body_sha256, "body_sha256", InvalidPayloadHash)] if body_sha256

      case body
      when nil then ["empty", nil]
      when String then body.empty? ? ["empty", nil] : ["sha256-hex", Digest::SHA256.hexdigest(body)]
      else
        raise InvalidOption, "body must be a String or an IO, not #{body.class}" unless body.respond_to?(:read)

        ["sha256-hex", hash_io(body)]
      end
    end

    def hash_io(io)
      digest = Digest::SHA256.new
      buffer = +""
      digest << buffer while io.read(1 << 20, buffer)
      io.rewind if io.respond_to?(:rewind)
      digest.hexdigest
    end
  end

  @default_lock = Mutex.new

  # The module-level Signer (default clock and credentials chain), created on first use.
  def self.default_signer = @default_lock.synchronize { @default_signer ||= Signer.new }

  # Signs with the default signer; see Signer#sign.
  def self.sign(**request) = default_signer.sign(**request)

  # A presigned URL from the default signer; see Signer#presign.
  def self.presign(**request) = default_signer.presign(**request)
end
