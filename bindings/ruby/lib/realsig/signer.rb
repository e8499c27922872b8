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

  # A signed POST policy: put #fields in the form, in order, before the file field.
  # #policy_document names the session token with temporary credentials: do not log it.
  SignedForm = Struct.new(:fields, :policy_document, :signature, :signing_time, :sensitive_fields,
                          keyword_init: true) do
    def inspect = "#<Realsig::SignedForm signature=#{signature} signing_time=#{signing_time.iso8601}>"
    alias_method :to_s, :inspect
  end

  # One aws-chunked upload (Signer#chunked_upload): the #headers to send (yours, the framed
  # content-length and the signature's), the #body, and the #signed instructions.
  #
  #   upload = signer.chunked_upload(url: url, path: "backup.tar", region: "us-east-1",
  #                                  mode: :signed_with_trailer, checksum: :crc32c)
  #   request = Net::HTTP::Put.new(URI(url), upload.headers)
  #   request.body_stream = upload.body
  ChunkedUpload = Struct.new(:signed, :body, :headers)

  # The framed body of a chunked upload, read like an IO (#read, #readpartial, #size); each
  # chunk is read from the file, hashed and signed as it is asked for.
  class ChunkedBody
    attr_reader :size

    def initialize(native, size)
      @native = native
      @size = size
    end

    def read(length = nil, outbuf = nil)
      if length.nil?
        data = +"".b
        while (piece = @native.read(1 << 20))
          data << piece
        end
      elsif length.zero?
        data = +"".b
      else
        data = @native.read(length) or return nil
      end
      outbuf ? outbuf.replace(data) : data
    end

    def readpartial(length, outbuf = nil)
      read(length, outbuf) or raise EOFError, "end of the chunked body"
    end

    # Releases the chunk signer before the end (after the end it is already released).
    def close = @native.close
  end

  # Signs the messages of one event stream, in order, each at the real time it is signed.
  class EventStream
    def initialize(native, credentials, read_clock)
      @native = native
      @credentials = credentials
      @read_clock = read_clock
    end

    # Signs the next encoded message ("" for the closing frame). Returns `[date, signature]`:
    # the `:date` (a Time, whole seconds) and `:chunk-signature` (32 bytes) header values.
    def sign_message(message)
      raise CredentialsError, "event streams take static credentials (Signer#event_stream credentials:)" unless @credentials

      secs, signature = @native.sign_message(Digest::SHA256.hexdigest(message), @credentials, @read_clock.call)
      [Time.at(secs, in: "UTC"), signature.b]
    end

    def close = @native.close

    def inspect = "#<Realsig::EventStream>"
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
    # `unsigned_payload: true`. The component applies the service's rules (for S3: the path
    # is the object key, no path normalisation, an x-amz-content-sha256 header, and presigned
    # URLs sign UNSIGNED-PAYLOAD) unless `double_uri_encode:`, `normalize_path:` or
    # `content_sha256_header:` overrides one.
    def sign(**request) = sign_details(**request).headers

    # A presigned URL (default 15 minutes, at most 7 days); takes #sign's keywords.
    def presign(expires_in: DEFAULT_EXPIRES, **request)
      sign_details(expires_in: expires_in, **request).url
    end

    # Like #sign, but returns the whole Signed (signature, signing time, and with `debug: true`
    # the canonical request and string to sign).
    #
    # With `sigv4a: true` the request is signed with SigV4a (AWS4-ECDSA-P256-SHA256) and
    # `region` is the region set: "*", "us-east-1,us-west-2" or an Array of regions.
    def sign_details(url:, region:, service:, method: "GET", headers: nil, body: nil, body_sha256: nil,
                     unsigned_payload: false, credentials: nil, expires_in: nil, double_uri_encode: nil,
                     normalize_path: nil, content_sha256_header: nil, omit_session_token: false, debug: false,
                     sigv4a: false)
      region = region.join(",") if sigv4a && region.is_a?(Array)
      options = [expires(expires_in), flag(double_uri_encode), flag(normalize_path),
                 flag(content_sha256_header), omit_session_token ? true : false, debug ? true : false,
                 sigv4a ? true : false]
      out = @native.sign(text(method, "the method", InvalidMethod), text(url, "the url", InvalidUrl),
                         header_pairs(headers), payload(body, body_sha256, unsigned_payload), credential_parts(credentials),
                         scope(region, service), options, @read ? read_clock : [nil, nil])
      signed(out)
    end

    # Signs the request opening an S3 aws-chunked upload of the file at `path` and returns a
    # ChunkedUpload: send its #headers (with the framed content-length) and its #body (an
    # IO-like object for Net::HTTP's body_stream, read from the file as it is sent, never
    # whole). `mode`: :signed, :signed_with_trailer or :unsigned_with_trailer; `checksum`
    # (trailer modes): :crc32, :crc32c or :sha256, computed as the file is read.
    def chunked_upload(url:, path:, region:, method: "PUT", headers: nil, mode: :signed, checksum: nil,
                       chunk_size: 65_536, credentials: nil, service: "s3")
      unless chunk_size.is_a?(Integer) && chunk_size.positive?
        raise InvalidOption, "chunk_size must be a positive Integer, not #{chunk_size.inspect}"
      end

      pairs = header_pairs(headers)
      out, body, length = @native.start_chunked(
        text(method, "the method", InvalidMethod), text(url, "the url", InvalidUrl), pairs,
        text(path.to_s, "the path", InvalidOption), [mode.to_s.tr("_", "-"), checksum&.to_s, chunk_size],
        credential_parts(credentials), scope(region, service), @read ? read_clock : [nil, nil]
      )
      signed = signed(out)
      sent = pairs.reject { |name, _| name.casecmp?("content-length") }.to_h
      ChunkedUpload.new(signed, ChunkedBody.new(body, length), sent.merge("content-length" => length.to_s, **signed.headers))
    end

    # Builds and signs an S3 POST policy (browser uploads). `conditions` as in the policy
    # JSON: Hashes of exact matches ({ "bucket" => "b" }), ["eq", "$key", "v"],
    # ["starts-with", "$key", "uploads/"], ["content-length-range", min, max].
    def post_policy(conditions:, region:, service: "s3", expires_in: 3600, credentials: nil)
      fields, document, signature, secs, nanos = @native.post_policy(
        conditions.flat_map { |c| policy_condition(c) }, [policy_expiry(expires_in), *scope(region, service)],
        credential_parts(credentials), @read ? read_clock : [nil, nil]
      )
      SignedForm.new(fields: fields.to_h { |name, value, _| [name, value] }, policy_document: document,
                     signature: signature, signing_time: Time.at(secs, nanos, :nsec, in: "UTC"),
                     sensitive_fields: fields.select(&:last).map(&:first).freeze)
    end

    # An EventStream signing the messages of a stream whose request was signed with
    # `seed_signature` (hex).
    def event_stream(seed_signature, region:, service:, credentials: nil)
      native = @native.event_stream(text(seed_signature, "the seed signature", InvalidOption), scope(region, service))
      EventStream.new(native, credential_parts(credentials), -> { @read ? read_clock : [nil, nil] })
    end

    # How many times the credentials provider has been asked (the cache's fetches).
    def credential_fetches = @native.credential_fetches

    # The credentials this signer signs with when a call gives none: the static ones, else the
    # provider's, from the cache (fetched when missing or within five minutes of expiry by the
    # real clock). Raises CredentialsError when the provider has none. The Credentials carry
    # secrets: #inspect redacts them, do not log them otherwise.
    def credentials
      return @credentials if @credentials

      akid, secret, token, expiration = @native.credentials
      Credentials.new(access_key_id: akid, secret_access_key: secret, session_token: token,
                      expiration: expiration && Time.at(expiration, in: "UTC"))
    end

    def inspect = "#<Realsig::Signer clock=#{@native.clock_name}>"

    private

    # `[akid, secret, token]` of the call's or the signer's static credentials; nil to use
    # the credentials provider.
    def credential_parts(credentials)
      creds = credentials.nil? ? @credentials : Credentials.of(credentials)
      creds && [text(creds.access_key_id, "the access key id", InvalidCredentials),
                text(creds.secret_access_key, "the secret access key", InvalidCredentials),
                creds.session_token && text(creds.session_token, "the session token", InvalidCredentials)]
    end

    def scope(region, service)
      [text(region, "the region", InvalidOption), text(service, "the service", InvalidOption)]
    end

    def signed(out)
      added, signed_url, signature, secs, nanos, canonical, string_to_sign = out
      Signed.new(headers: added.to_h { |name, value, _| [name, value] }, url: signed_url, signature: signature,
                 signing_time: Time.at(secs, nanos, :nsec, in: "UTC"), canonical_request: canonical,
                 string_to_sign: string_to_sign, sensitive_headers: added.select(&:last).map(&:first).freeze)
    end

    def policy_expiry(seconds)
      return seconds if seconds.is_a?(Integer) && seconds.between?(1, MAX_EXPIRES)

      raise InvalidOption, "expires_in must be an Integer in 1..#{MAX_EXPIRES}, not #{seconds.inspect}"
    end

    # `[op, a, b]` triples for the native layer.
    def policy_condition(condition)
      case condition
      in Hash then condition.map { |field, value| ["eq", field.to_s, text(value, "a condition value", InvalidOption)] }
      in ["eq" | "starts-with" => op, String => field, String => value] then [[op, field, value]]
      in ["content-length-range", Integer => min, Integer => max] if min >= 0 && max >= min
        [["content-length-range", min.to_s, max.to_s]]
      else raise InvalidOption, "unknown policy condition #{condition.inspect}"
      end
    end

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

    def flag(value) = value.nil? ? nil : (value ? true : false)

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
