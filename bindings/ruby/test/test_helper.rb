# frozen_string_literal: true

# Shared by the tests: the team's vectors, the suites' request.txt format, and real servers on
# 127.0.0.1 that the tests start and stop themselves (s3s-fs, chronyd, an ECS-style
# credentials endpoint, a libfaketimefs-style realtime file).

# Keep the credentials chain away from this machine's real sources (an IMDS answers here, a
# developer may have keys in the environment or ~/.aws) and the clock from the environment's.
ENV["AWS_EC2_METADATA_DISABLED"] = "true"
ENV["AWS_SHARED_CREDENTIALS_FILE"] = ENV["AWS_CONFIG_FILE"] = "/nonexistent/realsig-tests"
%w[AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
   AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
   FAKETIME_REALTIME_FILE REALSIG_CLOCK].each { |name| ENV.delete(name) }

require "json"
require "minitest/autorun"
require "net/http"
require "pathname"
require "rbconfig"
require "socket"
require "time"
require "tmpdir"
require "realsig"

# minitest exits 0 when it ran nothing; a suite that collected no tests must fail.
module Minitest
  class NothingRanReporter < StatisticsReporter
    def passed? = super && count.positive?

    def report
      super
      warn "minitest: no tests ran" if count.zero?
    end
  end

  def self.plugin_realsig_init(_options) = reporter << NothingRanReporter.new
end
Minitest.extensions << "realsig"

module TestSupport
  HERE = Pathname(__dir__)
  REPO = HERE.parent.parent.parent
  AKID = "AKIDEXAMPLE"
  SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  CREDS = Realsig::Credentials.new(access_key_id: AKID, secret_access_key: SECRET)

  module_function

  def vectors_dir
    dir = Pathname(ENV.fetch("REALSIG_VECTORS", REPO.parent.join("shared", "vectors").to_s))
    raise "the shared vectors are missing at #{dir} (set REALSIG_VECTORS)" unless dir.join("aws-signing-test-suite").directory?

    dir
  end

  # Signs a suite case (its request.txt, at its context.json's time and credentials) in form
  # ("header" or "query") with debug output; extra goes to Signer#sign_details.
  def sign_case(dir, form, **extra)
    ctx = JSON.parse(dir.join("context.json").read)
    method, target, headers, body = parse_request(dir.join("request.txt").binread)
    host = headers.find { |n, _| n.casecmp?("host") }.last
    creds = ctx.fetch("credentials")
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.iso8601(ctx.fetch("timestamp"))))
    signer.sign_details(
      method: method, url: "https://#{host}#{target}", headers: headers, body: body,
      credentials: { access_key_id: creds["access_key_id"], secret_access_key: creds["secret_access_key"],
                     session_token: creds["token"] },
      region: ctx.fetch("region"), service: ctx.fetch("service"),
      normalize_path: ctx.fetch("normalize", true), content_sha256_header: ctx.fetch("sign_body", false),
      omit_session_token: ctx.fetch("omit_session_token", false),
      expires_in: form == "query" ? ctx.fetch("expiration_in_seconds") : nil, debug: true, **extra
    )
  end

  # request.txt as cli/src/http_text.rs reads it: the target may contain spaces; folded
  # header lines are unfolded with one space; the body is everything after the first blank line.
  def parse_request(raw)
    raw = raw.b
    split = raw.index("\r\n\r\n") ? "\r\n\r\n" : "\n\n"
    head, body = raw.index(split) ? raw.split(split, 2) : [raw.sub(/[\r\n]+\z/, ""), +""]
    lines = head.force_encoding(Encoding::UTF_8).split("\n", -1).map { |l| l.delete_suffix("\r") }
    first = lines.shift
    method = first[0...first.index(" ")]
    target = first[(first.index(" ") + 1)...first.rindex(" ")]
    headers = []
    lines.each do |line|
      if line.start_with?(" ", "\t")
        headers.last[1] += " #{line.strip}"
      else
        name, value = line.split(":", 2)
        headers << [name, value.to_s.strip]
      end
    end
    [method, target, headers, body]
  end

  # A free port below the kernel's ephemeral range (so no client socket can be given it).
  def free_port(kind = :TCP)
    low = File.read("/proc/sys/net/ipv4/ip_local_port_range").split.first.to_i
    200.times do
      port = rand(10_000...low)
      socket = kind == :TCP ? Socket.new(:INET, :STREAM) : Socket.new(:INET, :DGRAM)
      begin
        socket.bind(Addrinfo.tcp("127.0.0.1", port))
        return port
      rescue Errno::EADDRINUSE
        next
      ensure
        socket.close
      end
    end
    raise "no free port"
  end

  def libfaketime
    found = %w[/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1
               /usr/lib/faketime/libfaketime.so.1].find { |p| File.exist?(p) }
    found or raise "libfaketime is not installed (apt-get install libfaketime; .ci/run does)"
  end

  # Stops a server the tests started.
  def reap(pid)
    Process.kill(:KILL, pid)
    Process.wait(pid)
  end

  def wait_until(what, seconds: 10)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    until yield
      raise "#{what} within #{seconds} s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.02
    end
  end

  # A tool scripts/setup.sh installs: on PATH or in ~/<home_dir>/bin.
  def self.installed(program, home_dir, hint)
    found = ENV["PATH"].split(":").map { |d| File.join(d, program) }.find { |p| File.executable?(p) }
    found ||= File.join(Dir.home, home_dir, "bin", program)
    File.executable?(found) or raise "#{program} is not installed: #{hint} (scripts/setup.sh does)"
    found
  end

  # A loopback S3 server that verifies signatures, serving a fresh directory on 127.0.0.1 with
  # the example credentials: :s3s_fs (0.14.1) or :versitygw (1.8.0, posix backend).
  class S3Server
    attr_reader :endpoint, :root, :kind

    def initialize(root, kind = :s3s_fs)
      @kind = kind
      @root = root
      @port = TestSupport.free_port
      @endpoint = "http://127.0.0.1:#{@port}"
      @log = File.join(root, "..", "#{kind}.log")
      argv, env = if kind == :versitygw
                    [[TestSupport.installed("versitygw", "go",
                                            "GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"),
                      "--port", "127.0.0.1:#{@port}", "posix", root],
                     { "ROOT_ACCESS_KEY" => AKID, "ROOT_SECRET_KEY" => SECRET }]
                  else
                    [[ENV.fetch("S3S_FS", nil) || TestSupport.installed("s3s-fs", ".cargo",
                                                                        "cargo install s3s-fs@0.14.1 --locked --features binary"),
                      "--host", "127.0.0.1", "--port", @port.to_s, "--access-key", AKID, "--secret-key", SECRET, root], {}]
                  end
      @pid = Process.spawn(env, *argv, in: File::NULL, out: File::NULL, err: @log)
      # 30 s: on a loaded 2-core CI machine versitygw once took over 10 s to listen (it then
      # passed on a rerun); a server that exits is still caught at once.
      TestSupport.wait_until("#{kind} did not listen", seconds: 30) do
        raise "#{kind} exited: #{File.read(@log)}" if Process.wait(@pid, Process::WNOHANG)

        TCPSocket.new("127.0.0.1", @port).close || true
      rescue Errno::ECONNREFUSED
        false
      end
    end

    def stop = TestSupport.reap(@pid)
  end
  S3sFs = S3Server

  # chronyd serving NTP on 127.0.0.1 (the config checked in the notes); `local`: serve its own
  # clock at stratum 8, else it answers unsynchronised.
  class Chrony
    attr_reader :addr

    def initialize(dir, local: true)
      chronyd = %w[/usr/sbin/chronyd /sbin/chronyd].find { |p| File.exist?(p) }
      chronyd or raise "chronyd is not installed (apt-get install chrony; .ci/run does)"
      port = TestSupport.free_port(:UDP)
      @addr = "127.0.0.1:#{port}"
      conf = File.join(dir, "chrony.conf")
      File.write(conf, "port #{port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\nbindcmdaddress /\n" \
                       "pidfile #{File.join(dir, "chronyd.pid")}\n#{local ? "local stratum 8\n" : ""}")
      args = [chronyd, "-d", "-x", "-f", conf] + (Process.euid.zero? ? [] : ["-U"])
      @pid = Process.spawn(*args, in: File::NULL, out: File::NULL, err: File::NULL)
      TestSupport.wait_until("chronyd did not answer") { answers?(port) }
    end

    # Any reply to an SNTP client request (mode 3, version 4).
    def answers?(port)
      socket = UDPSocket.new
      socket.send([0x23].pack("C") + ("\0" * 47), 0, "127.0.0.1", port)
      socket.wait_readable(0.2) && socket.recvfrom_nonblock(64)
    rescue Errno::ECONNREFUSED
      false
    ensure
      socket&.close
    end

    def stop = TestSupport.reap(@pid)
  end

  # A libfaketimefs-style realtime file that, like the FUSE file, computes its value when read:
  # a FIFO per read, served by a separate process (a Ruby thread could not write while the
  # signer, holding the GVL, waits to read).
  class RealtimeFifo
    WRITER = <<~'RUBY'
      path, offset_ns = ARGV[0], Integer(ARGV[1])
      nxt = "#{path}.next"
      File.mkfifo(path)
      $stdout.puts "ready"; $stdout.flush
      loop do
        File.mkfifo(nxt)
        File.open(path, "w") do |f|            # blocks until a reader opens it
          File.rename(nxt, path)               # the next reader gets a fresh FIFO
          now = Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond) + offset_ns
          f.write(format("%d.%09d", now / 1_000_000_000, now % 1_000_000_000))
        rescue Errno::EPIPE
          nil
        end
      end
    RUBY

    attr_reader :path

    def initialize(path, offset_ns: 0)
      @path = path
      @out, child_out = IO.pipe
      @pid = Process.spawn(RbConfig.ruby, "-e", WRITER, path, offset_ns.to_s, out: child_out, in: File::NULL)
      child_out.close
      @out.gets or raise "the realtime writer did not start"
    end

    def stop
      TestSupport.reap(@pid)
      @out.close
    end
  end

  # An ECS-style credentials endpoint on 127.0.0.1, rate-limited like ECS agent 1.17.0
  # (a token bucket: 10 requests/s, burst 15, then HTTP 429).
  class FakeEcs
    TOKEN = "Bearer test-token"
    SECRET = "ecsSecretKeyEXAMPLE/abc"

    attr_reader :uri

    # `token`: the Authorization the endpoint demands (nil: none, like aws-sdk-core 3.168's
    # ECSCredentials, which sends none).
    def initialize(access_key_id: "ASIAECSEXAMPLE", secret: SECRET, expires_in: 3600, token: TOKEN)
      @token = token
      @server = TCPServer.new("127.0.0.1", 0)
      @uri = "http://127.0.0.1:#{@server.addr[1]}/v2/credentials/task"
      @lock = Mutex.new
      @tokens = 15.0
      @last = now
      @requests = 0
      @throttled = 0
      @body = lambda do
        { AccessKeyId: access_key_id, SecretAccessKey: secret, Token: "ecs-session-token",
          Expiration: (Time.now.utc + expires_in).strftime("%FT%TZ") }.to_json
      end
      @thread = Thread.new { serve }
    end

    def requests = @lock.synchronize { @requests }
    def throttled = @lock.synchronize { @throttled }

    def stop
      @thread.kill
      @thread.join
      @server.close
    end

    private

    def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

    def take
      @lock.synchronize do
        @requests += 1
        t = now
        @tokens = [@tokens + ((t - @last) * 10.0), 15.0].min
        @last = t
        next (@throttled += 1) && false if @tokens < 1.0

        @tokens -= 1.0
        true
      end
    end

    def serve
      loop do
        client = @server.accept
        request = client.gets("\r\n\r\n").to_s
        auth = request[/^authorization:\s*(.*?)\r$/i, 1]
        status, body = if !take then ["429 Too Many Requests", ""]
                       elsif @token && auth != @token then ["403 Forbidden", ""]
                       else ["200 OK", @body.call]
                       end
        client.write("HTTP/1.1 #{status}\r\ncontent-type: application/json\r\ncontent-length: #{body.bytesize}\r\n" \
                     "connection: close\r\n\r\n#{body}")
        client.close
      end
    end
  end
end
