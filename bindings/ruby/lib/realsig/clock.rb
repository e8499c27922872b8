# frozen_string_literal: true

module Realsig
  # One reading of a clock. `uncertainty` is in seconds (Float) when the source can bound it
  # (NTP), nil otherwise; `trusted` is false for the process clock, which libfaketime fakes.
  Reading = Struct.new(:time, :uncertainty, :source, :trusted, keyword_init: true)

  # A source of the real time, backing the component's `real-now`. Built on the reference
  # host's sources, so the rules are the CLI's (see host/src/clock):
  #
  #   Realsig::Clock.realtime_file("/run/libfaketimefs/realtime")  # libfaketimefs's file
  #   Realsig::Clock.ntp("169.254.169.123", "time.aws.com")         # majority of servers
  #   Realsig::Clock.raw                                           # the kernel clock, not libc's
  #   Realsig::Clock.chain(Realsig::Clock.ntp("10.0.0.1"), Realsig::Clock.raw)
  #   Realsig::Clock.parse("faketimefs,ntp:10.0.0.1,raw")          # the CLI's --clock text
  #
  # A clock keeps its state (an NTP estimate) and may be shared by several signers.
  class Clock
    attr_reader :spec

    # The chain the CLI's --clock (and $REALSIG_CLOCK) describe, e.g. "ntp:10.0.0.1+10.0.0.2,raw".
    def self.parse(spec)
      raise ArgumentError, "a clock spec must be a String, not #{spec.class}" unless spec.is_a?(String)

      new(spec, Native::Clock.parse(spec))
    end

    # libfaketimefs's realtime file (default: $FAKETIME_REALTIME_FILE). It must prove it is
    # live (advancing with the monotonic clock) before it is trusted; `static: true` accepts a
    # file that never changes (a snapshot).
    def self.realtime_file(path = nil, static: false)
      return parse(static ? "faketimefs-static:#{path}" : "faketimefs:#{path}") if path

      raise ArgumentError, "static: true needs a path" if static

      parse("faketimefs")
    end

    # SNTP from `servers` ("host" or "host:port"), a majority agreeing within their error bounds.
    def self.ntp(*servers)
      raise ArgumentError, "ntp needs at least one server" if servers.empty?

      parse("ntp:#{servers.join("+")}")
    end

    # CLOCK_REALTIME read with a raw system call: libfaketime cannot fake it (a drifted VM
    # kernel clock still can be wrong; use NTP for that).
    def self.raw = parse("raw")

    # The process clock (Time.now's): untrusted, for comparison only.
    def self.system = parse("system")

    # The first source of `clocks` that has a time.
    def self.chain(*clocks)
      parse(clocks.map { |c| c.is_a?(Clock) ? c.spec : c.to_s }.join(","))
    end

    # A fixed time (tests, replays).
    def self.fixed(time)
      raise ArgumentError, "fixed needs a Time, not #{time.class}" unless time.is_a?(Time)
      raise ArgumentError, "fixed needs a time after 1970" if time.to_i.negative?

      new("fixed:#{time.utc.strftime("%FT%T.%NZ")}", Native::Clock.fixed(time.to_i, time.nsec))
    end

    # The default chain: the realtime file when $FAKETIME_REALTIME_FILE is set, then raw.
    def self.default = new("default", Native::Clock.default_chain)

    def initialize(spec, native)
      @spec = spec
      @native = native
    end

    # The current real time as a Reading; raises ClockError when the source has none.
    def now
      secs, nanos, uncertainty_ns, source, trusted = @native.now
      Reading.new(time: Time.at(secs, nanos, :nsec, in: "UTC"), uncertainty: uncertainty_ns&./(1e9),
                  source: source, trusted: trusted)
    end

    def name = @native.name
    def inspect = "#<Realsig::Clock #{name}>"
    alias to_s name

    # The native clock, for Signer.
    def native = @native # :nodoc:
  end
end
