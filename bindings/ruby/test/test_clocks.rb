# frozen_string_literal: true

# real-now from a Ruby block and from the built-in sources: the raw clock and the realtime
# file under libfaketime, NTP against chronyd on 127.0.0.1, and the fail-closed paths. The
# sources' own rules are the reference host's, tested in tests/all/time_sources.rs; these tests
# show the gem is wired to them.

require_relative "test_helper"
require "open3"

class TestClocks < Minitest::Test
  THREE_DAYS = 3 * 86_400
  SIGN = { url: "https://example.amazonaws.com/", region: "us-east-1", service: "service",
           credentials: TestSupport::CREDS }.freeze

  def setup = @dir = Dir.mktmpdir("realsig-clocks")
  def teardown = FileUtils.rm_rf(@dir)

  def signing_time(signer) = signer.sign_details(**SIGN).signing_time

  # Runs `code` in a child Ruby under libfaketime -3d and returns its JSON output.
  def faked_ruby(code, env = {})
    lib = File.expand_path("../lib", __dir__)
    out, err, status = Open3.capture3(env.merge("LD_PRELOAD" => TestSupport.libfaketime, "FAKETIME" => "-3d"),
                                      RbConfig.ruby, "-I#{lib}", "-rjson", "-rrealsig", "-e", code)
    assert status.success?, err
    JSON.parse(out.lines.last)
  end

  CHILD = <<~RUBY
    creds = { access_key_id: "AKIDEXAMPLE", secret_access_key: "secret" }
    signed = Realsig::Signer.new.sign_details(url: "https://example.amazonaws.com/", region: "us-east-1",
                                             service: "service", credentials: creds)
    puts({ process: Time.now.to_f, signed: signed.signing_time.to_f }.to_json)
  RUBY

  def test_under_libfaketime_the_default_clock_is_the_real_time
    got = faked_ruby(CHILD)
    assert_in_delta Time.now.to_f - THREE_DAYS, got["process"], 60, "libfaketime did not fake the child's clock"
    assert_in_delta Time.now.to_f, got["signed"], 5, "the child signed with its faked clock"
  end

  def test_under_libfaketime_the_default_clock_prefers_the_realtime_file
    # A live file one hour ahead of the real time: the offset shows which source signed.
    fifo = TestSupport::RealtimeFifo.new(File.join(@dir, "realtime"), offset_ns: 3600 * 1_000_000_000)
    got = faked_ruby(CHILD, "FAKETIME_REALTIME_FILE" => fifo.path)
    assert_in_delta Time.now.to_f + 3600, got["signed"], 5
  ensure
    fifo&.stop
  end

  def test_a_live_realtime_file_is_the_real_time
    fifo = TestSupport::RealtimeFifo.new(File.join(@dir, "realtime"))
    clock = Realsig::Clock.realtime_file(fifo.path)
    reading = clock.now
    assert_in_delta Time.now.to_f, reading.time.to_f, 0.5
    assert reading.trusted
    assert_in_delta Time.now.to_f, signing_time(Realsig::Signer.new(clock: clock)).to_f, 0.5
  ensure
    fifo&.stop
  end

  def test_a_realtime_file_that_does_not_advance_fails_closed
    path = File.join(@dir, "realtime")
    File.write(path, "#{Time.now.to_i}.000000000\n")
    error = assert_raises(Realsig::ClockUnavailable) { Realsig::Signer.new(clock: Realsig::Clock.realtime_file(path)).sign(**SIGN) }
    assert_match(/stale snapshot: .* did not advance/, error.message)
    assert_raises(Realsig::ClockError) { Realsig::Clock.realtime_file(File.join(@dir, "missing")).now }
    static = Realsig::Clock.realtime_file(path, static: true)
    assert_in_delta Time.now.to_f, signing_time(Realsig::Signer.new(clock: static)).to_f, 5
  end

  def test_chrony_gives_the_real_time
    chrony = TestSupport::Chrony.new(@dir)
    clock = Realsig::Clock.ntp(chrony.addr)
    reading = clock.now
    assert_in_delta Time.now.to_f, reading.time.to_f, 0.1
    assert_operator reading.uncertainty, :<, 0.05
    assert_equal "ntp:#{chrony.addr}", clock.name
    assert_in_delta Time.now.to_f, signing_time(Realsig::Signer.new(clock: clock)).to_f, 0.1
  ensure
    chrony&.stop
  end

  def test_a_silent_ntp_server_fails_closed_and_a_chain_falls_through
    silent = "127.0.0.1:#{TestSupport.free_port(:UDP)}"
    assert_raises(Realsig::ClockUnavailable) { Realsig::Signer.new(clock: Realsig::Clock.ntp(silent)).sign(**SIGN) }
    chain = Realsig::Clock.chain(Realsig::Clock.ntp(silent), Realsig::Clock.raw)
    assert_equal "raw", chain.now.source
  end

  def test_other_ruby_threads_run_while_a_clock_waits
    # A server that reads and never answers makes the first NTP exchange wait for its 1 s
    # timeout; the native call releases the GVL meanwhile, so this thread keeps counting.
    sink = UDPSocket.new
    sink.bind("127.0.0.1", 0)
    silent = "127.0.0.1:#{sink.addr[1]}"
    ticks = 0
    counter = Thread.new { loop { ticks += 1; sleep 0.001 } }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Realsig::ClockError) { Realsig::Clock.ntp(silent).now }
    waited = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    counter.kill.join
    sink.close
    assert_operator waited, :>, 0.5, "the exchange did not wait for its timeout"
    assert_operator ticks, :>, waited * 100, "the other thread ran #{ticks} times in #{waited.round(2)} s"
  end

  def test_a_block_is_the_clock
    at = Time.utc(2030, 1, 2, 3, 4, 5.25r)
    assert_equal at, signing_time(Realsig::Signer.new { at })
    assert_equal at, signing_time(Realsig::Signer.new(clock: -> { at }))
  end

  def test_a_block_that_fails_or_lies_fails_closed
    {
      -> { raise IOError, "time server down" } => /clock raised IOError: time server down/,
      -> { 1_700_000_000 } => /returned Integer, not a Time/,
      -> { Time.at(-5) } => /before 1970/
    }.each do |block, message|
      error = assert_raises(Realsig::ClockUnavailable) { Realsig::Signer.new(clock: block).sign(**SIGN) }
      assert_match message, error.message
    end
  end

  def test_the_clock_reading_and_bad_specs
    reading = Realsig::Clock.raw.now
    assert_in_delta Time.now.to_f, reading.time.to_f, 1
    assert_equal "raw", reading.source
    refute Realsig::Clock.system.now.trusted
    assert_raises(ArgumentError) { Realsig::Clock.parse("sundial") }
    assert_raises(ArgumentError) { Realsig::Signer.new(clock: 42) }
    assert_raises(ArgumentError) { Realsig::Signer.new(clock: Realsig::Clock.raw) { Time.now } }
  end
end
