package realsig

// Servers for the tests, all on 127.0.0.1 and stopped by t.Cleanup: chrony (Debian's
// `chrony`), a scripted SNTP responder, a libfaketimefs-style realtime file writer, s3s-fs
// and versitygw (the loopback S3 servers that verify signatures), and where libfaketime lives.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// libfaketime is libfaketime's preload library (Debian `libfaketime`, installed by .ci/run).
func libfaketime(t testing.TB) string {
	for _, p := range []string{
		"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
		"/usr/lib/faketime/libfaketime.so.1",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("libfaketime is not installed (apt-get install libfaketime; .ci/run does)")
	return ""
}

// freeUDPPort is a UDP port on 127.0.0.1 that was free a moment ago, for a server to bind. It
// is taken below the kernel's ephemeral range: an ephemeral port can be handed to a client
// socket (our own probe) in the moment before the server binds it.
func freeUDPPort(t testing.TB) int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 10_001 {
				low = v
			}
		}
	}
	span := low - 10_000
	start := rand.IntN(span)
	for i := range span {
		port := 10_000 + (start+i)%span
		if c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("no free UDP port below the ephemeral range")
	return 0
}

// removeFaketimeShm removes what libfaketime 0.9.10 leaves in /dev/shm of process pid. It
// makes these names in every process it is preloaded into and removes them in libc's exit
// handlers, which neither a killed process nor a Go program (it exits by system call) runs;
// the `faketime` wrapper then refuses to start under that PID ("sem_open: File exists").
func removeFaketimeShm(pid int) {
	for _, name := range []string{"sem.faketime_sem_", "faketime_shm_"} {
		os.Remove(fmt.Sprintf("/dev/shm/%s%d", name, pid))
	}
}

// startChrony runs chronyd serving NTP on 127.0.0.1 (never touching the system clock), with
// `local` its own clock is served at stratum 8; fake (e.g. "+2d") runs it under libfaketime.
func startChrony(t testing.TB, local bool, fake string) string {
	chronyd := ""
	for _, p := range []string{"/usr/sbin/chronyd", "/sbin/chronyd"} {
		if _, err := os.Stat(p); err == nil {
			chronyd = p
		}
	}
	if chronyd == "" {
		t.Fatal("chronyd is not installed (apt-get install chrony; .ci/run does)")
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := fmt.Sprintf("port %d\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\nbindcmdaddress /\npidfile %s\n",
		port, filepath.Join(dir, "chronyd.pid"))
	if local {
		conf += "local stratum 8\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "chrony.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-d", "-x", "-f", filepath.Join(dir, "chrony.conf")}
	if os.Geteuid() != 0 {
		args = append(args, "-U")
	}
	cmd := exec.Command(chronyd, args...)
	if fake != "" {
		// On chronyd itself, not the `faketime` wrapper (which forks).
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+libfaketime(t), "FAKETIME="+fake)
	}
	logPath := filepath.Join(dir, "chronyd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		// Before the child is reaped, while its PID cannot belong to anyone else.
		removeFaketimeShm(cmd.Process.Pid)
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("chronyd's log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Until it answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		req := make([]byte, 48)
		req[0] = 4<<3 | 3
		c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		c.Write(req)
		reply := make([]byte, 128)
		n, err := c.Read(reply)
		c.Close()
		// Any server reply (mode 4), even "unsynchronised". A reply in client mode is our
		// own request: the probe's ephemeral port can be the very port chronyd was given,
		// and a UDP socket connected to its own address receives what it sends.
		if err == nil && n >= 48 && reply[0]&7 == 4 {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("chronyd did not answer on %s within 10 s: %v", addr, err)
		}
	}
}

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

func ntpTimestamp(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// reply is what a scripted server answers to one request; nil means stay silent.
type reply func(req []byte) []byte

// goodReply answers as a synchronised stratum-2 server whose clock is real+offset.
func goodReply(offset time.Duration) reply {
	return func(req []byte) []byte {
		now := time.Now().Add(offset)
		b := make([]byte, 48)
		b[0] = 0<<6 | 4<<3 | 4                                                  // LI 0, version 4, mode 4 (server)
		b[1] = 2                                                                // stratum
		b[2] = 6                                                                // poll
		b[3] = 0xEC                                                             // precision ~2^-20 s
		binary.BigEndian.PutUint32(b[4:], 0x00000010)                           // root delay (~0.24 ms)
		binary.BigEndian.PutUint32(b[8:], 0x00000010)                           // root dispersion
		copy(b[12:16], []byte{127, 0, 0, 1})                                    // reference id
		binary.BigEndian.PutUint64(b[16:], ntpTimestamp(now.Add(-time.Second))) // reference time
		copy(b[24:32], req[40:48])                                              // origin = the client's transmit
		binary.BigEndian.PutUint64(b[32:], ntpTimestamp(now))                   // receive
		binary.BigEndian.PutUint64(b[40:], ntpTimestamp(now))                   // transmit
		return b
	}
}

// kiss answers with a Kiss-o'-Death code.
func kiss(code string) reply {
	return func(req []byte) []byte {
		b := goodReply(0)(req)
		b[0] = 3<<6 | 4<<3 | 4
		b[1] = 0
		copy(b[12:16], code)
		return b
	}
}

// edited answers a good reply changed by edit.
func edited(edit func([]byte)) reply {
	return func(req []byte) []byte {
		b := goodReply(0)(req)
		edit(b)
		return b
	}
}

type scriptedNTP struct {
	addr     string
	requests atomic.Int64
}

// startScriptedNTP answers every request with r on 127.0.0.1.
func startScriptedNTP(t testing.TB, r reply) *scriptedNTP {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedNTP{addr: c.LocalAddr().String()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.requests.Add(1)
			if n < 48 {
				continue
			}
			if out := r(buf[:n]); out != nil {
				c.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return s
}

// startRealtimeWriter makes path a libfaketimefs-style realtime file that, like libfaketimefs's
// FUSE file, computes its value (real+offset) when it is read: fractional seconds (32 digits,
// no newline), or whole seconds and a newline. It is a FIFO per read: the writer waits for a
// reader to open the FIFO at path, renames a fresh FIFO over path for the next reader, then
// takes the time, writes it and closes. (A plain file rewritten every 0.2 ms was, on a loaded
// 2-core CI machine, sometimes staler than the reader's tolerance.) Readers must take turns,
// as every test here does. stop leaves a plain file holding the time of the stop: the file
// freezes.
func startRealtimeWriter(t testing.TB, path string, offset time.Duration, wholeSeconds bool) (stop func()) {
	text := func() string {
		now := time.Now().Add(offset)
		if wholeSeconds {
			return strconv.FormatInt(now.Unix(), 10) + "\n"
		}
		return fmt.Sprintf("%d.%09d00000000000000000000000", now.Unix(), now.Nanosecond())
	}
	next := path + ".next"
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if err := syscall.Mkfifo(next, 0o644); err != nil {
				return
			}
			fifo, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until a reader opens it
			if err != nil {
				return
			}
			if stopped.Load() {
				fifo.Close()
				return
			}
			os.Rename(next, path)
			fifo.WriteString(text()) // one write below PIPE_BUF
			fifo.Close()
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopped.Store(true)
			for { // release a writer blocked opening the FIFO
				if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
					r.Close()
				}
				select {
				case <-done:
					atomicWrite(path, text())
					return
				case <-time.After(time.Millisecond):
				}
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// atomicWrite replaces path's content in one step (a reader of libfaketimefs's FUSE file never
// sees a half-written value either).
func atomicWrite(path, text string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err == nil {
		os.Rename(tmp, path)
	}
}

// The credentials startS3sFs serves.
var s3sFsCreds = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}

// startS3sFs runs s3s-fs 0.14.1 (`cargo install s3s-fs@0.14.1 --locked --features binary`,
// which .ci/run does) on a fresh directory and returns its endpoint.
func startS3sFs(t testing.TB) string { return startS3sFsAt(t, "") }

// startS3sFsAt runs s3s-fs with its clock set by libfaketime (fake, e.g. "+2d"; "" for none).
func startS3sFsAt(t testing.TB, fake string) string {
	bin := installed(t, "s3s-fs", ".cargo", "cargo install s3s-fs@0.14.1 --locked --features binary")
	return startS3Server(t, fake, nil, bin, "--host", "127.0.0.1", "--port", "PORT",
		"--access-key", s3sFsCreds.AccessKeyID, "--secret-key", s3sFsCreds.SecretAccessKey, t.TempDir())
}

// startVersitygw runs versitygw 1.8.0 (posix backend; scripts/setup.sh installs it), the
// server that canonicalises S3 keys as AWS does, with the same credentials as s3s-fs.
func startVersitygw(t testing.TB) string {
	bin := installed(t, "versitygw", "go",
		"GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	env := []string{"ROOT_ACCESS_KEY=" + s3sFsCreds.AccessKeyID, "ROOT_SECRET_KEY=" + s3sFsCreds.SecretAccessKey}
	return startS3Server(t, "", env, bin, "--port", "127.0.0.1:PORT", "posix", t.TempDir())
}

// installed finds program on PATH or in ~/<homeDir>/bin, or fails the test with the hint.
func installed(t testing.TB, program, homeDir, hint string) string {
	if bin, err := exec.LookPath(program); err == nil {
		return bin
	}
	home, _ := os.UserHomeDir()
	bin := filepath.Join(home, homeDir, "bin", program)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is not installed: %s (scripts/setup.sh does)", program, hint)
	}
	return bin
}

// startS3Server runs bin with args ("PORT" in an argument is replaced by a free port) on
// 127.0.0.1, its clock set by libfaketime when fake is given, and returns its endpoint once
// it listens. It is killed by its PID when the test ends.
func startS3Server(t testing.TB, fake string, env []string, bin string, args ...string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "PORT", strconv.Itoa(port))
	}
	name := filepath.Base(bin)
	var stderr strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), env...)
	if fake != "" {
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+libfaketime(t), "FAKETIME="+fake)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if fake != "" {
			removeFaketimeShm(cmd.Process.Pid) // the goroutine may have reaped it already; a PID is not reused that fast
		}
		<-exited
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", name, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 10 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
