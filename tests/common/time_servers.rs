//! Real and scripted time servers for the tests, all on 127.0.0.1, all stopped on drop:
//! chrony (Debian's `chrony`), a scripted SNTP responder, a libfaketimefs-style realtime
//! file writer, and where libfaketime lives.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use realsig::clock::ntp::packet::Rejection;
use realsig::clock::ntp::{self, NtpError};

/// libfaketime's preload library (Debian package `libfaketime`, installed by `.ci/run`).
pub fn libfaketime() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("libfaketime is not installed (apt-get install libfaketime; .ci/run does)"))
}

/// A `Command` whose process (only) runs under libfaketime at `offset` (e.g. `-3d`).
pub fn faked(program: impl AsRef<std::ffi::OsStr>, offset: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("LD_PRELOAD", libfaketime()).env("FAKETIME", offset);
    cmd
}

/// Stops a server the tests started, and removes what libfaketime leaves of a killed
/// process. libfaketime 0.9.10 makes `/dev/shm/sem.faketime_sem_<pid>` and
/// `/dev/shm/faketime_shm_<pid>` in every process it is preloaded into and removes them at
/// exit, which a killed process never reaches; the `faketime` wrapper then refuses to start
/// under that PID ("sem_open: File exists"). They are removed before the child is reaped,
/// while its PID cannot belong to anyone else.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    for name in ["sem.faketime_sem_", "faketime_shm_"] {
        let _ = std::fs::remove_file(format!("/dev/shm/{name}{}", child.id()));
    }
    let _ = child.wait();
}

/// A UDP port on 127.0.0.1 that was free a moment ago, for a server to bind. It is taken
/// below the kernel's ephemeral range: an ephemeral port can be handed to a client socket
/// (our own probe) in the moment before the server binds it.
pub fn free_udp_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(10_001);
    let span = u32::from(low - 10_000);
    let seed = std::process::id()
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
    (0..span)
        .map(|i| 10_000 + ((seed.wrapping_add(i)) % span) as u16)
        .find(|&port| UdpSocket::bind(("127.0.0.1", port)).is_ok())
        .expect("a free UDP port below the ephemeral range")
}

/// chronyd serving NTP on 127.0.0.1; killed on drop.
pub struct Chrony {
    child: Child,
    /// Where it answers.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Chrony {
    /// Starts chronyd with the checked loopback config. `local`: serve its own clock at
    /// stratum 8 (without it, chrony answers "unsynchronised"). `fake`: a libfaketime
    /// offset for the server's clock only (`+2d`).
    pub fn start(local: bool, fake: Option<&str>) -> Self {
        let chronyd = ["/usr/sbin/chronyd", "/sbin/chronyd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| panic!("chronyd is not installed (apt-get install chrony; .ci/run does)"));
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_udp_port();
        let conf = dir.path().join("chrony.conf");
        let mut text = format!(
            "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\nbindcmdaddress /\npidfile {}\n",
            dir.path().join("chronyd.pid").display()
        );
        if local {
            text += "local stratum 8\n";
        }
        std::fs::write(&conf, text).expect("write chrony.conf");
        let mut cmd = match fake {
            // The preload goes on chronyd itself (not the `faketime` wrapper, which forks):
            // the PID held here is the server's.
            Some(offset) => faked(chronyd, offset),
            None => Command::new(chronyd),
        };
        // -d: foreground; -x: never touch the system clock.
        cmd.args(["-d", "-x", "-f"]).arg(&conf);
        if !is_root() {
            cmd.arg("-U");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chronyd starts");
        let mut chrony = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        };
        chrony.wait_until_answering();
        chrony
    }

    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match ntp::query(self.addr, Duration::from_millis(200)) {
                // It answers. A reply in client mode is our own request: the probe's
                // ephemeral port can be the very port chronyd was given, and a UDP socket
                // connected to its own address receives what it sends.
                Err(NtpError::Rejected(Rejection::WrongMode(_))) => {}
                Ok(_) | Err(NtpError::Rejected(_)) => return,
                Err(e) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("chronyd exited ({status}) before answering: {e}");
                    }
                    assert!(Instant::now() < deadline, "chronyd did not answer within 10 s: {e}");
                }
            }
        }
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// The 48-byte reply a healthy stratum-2 server sends to `request`, with both server
/// timestamps at `server_time`.
pub fn good_reply(request: &[u8], server_time: SystemTime) -> Vec<u8> {
    let mut p = vec![0u8; 48];
    p[0] = 0b00_100_100; // LI 0, version 4, mode 4 (server)
    p[1] = 2;
    p[4..8].copy_from_slice(&0x0000_0010u32.to_be_bytes()); // root delay ~0.24 ms
    p[8..12].copy_from_slice(&0x0000_0010u32.to_be_bytes()); // root dispersion ~0.24 ms
    p[12..16].copy_from_slice(b"GPS\0");
    p[24..32].copy_from_slice(&request[40..48]); // origin = the client's transmit (nonce)
    let ts = ntp::packet::NtpTimestamp::from_unix(server_time.duration_since(UNIX_EPOCH).expect("after 1970")).0;
    p[32..40].copy_from_slice(&ts.to_be_bytes());
    p[40..48].copy_from_slice(&ts.to_be_bytes());
    p
}

/// An SNTP responder on 127.0.0.1 that answers each request with whatever `script` returns
/// for it (`None`: stay silent). Counts requests; stops on drop.
pub struct ScriptedNtp {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedNtp {
    /// Starts the responder.
    pub fn start(script: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                if len >= 48
                    && let Some(reply) = script(&buf[..len])
                {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptedNtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A libfaketimefs-style `realtime` file that, like libfaketimefs's FUSE file, computes its
/// value when it is read (`1795341747.1234567890123456789012`, no newline; or whole seconds
/// and a newline). Stops on drop.
///
/// It is a FIFO per read: the writer thread waits for a reader to open the FIFO at `path`,
/// renames a fresh FIFO over `path` for the next reader, then takes the time, writes it and
/// closes, so the reader sees the value and end of file. (Reusing one FIFO would hand a reader
/// that has not closed yet a second value. The first version rewrote a plain file every 2 ms,
/// then every 0.2 ms; on a loaded 2-core CI machine the writer thread still went unscheduled
/// for longer than the reader's 6 ms tolerance and the reader rightly refused the value as
/// stale.) Readers must take turns, as every test here does.
pub struct RealtimeWriter {
    /// The file.
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo (coreutils)");
    assert!(made.success(), "mkfifo {}: {made}", path.display());
}

impl RealtimeWriter {
    /// Creates the FIFO at `path` and starts answering reads of it.
    pub fn start(path: PathBuf, whole_seconds: bool) -> Self {
        mkfifo(&path);
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped, target) = (Arc::clone(&stop), path.clone());
        let next = path.with_extension("next");
        let thread = std::thread::spawn(move || {
            loop {
                mkfifo(&next);
                // Blocks until a reader opens the FIFO (or Drop releases it).
                let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&target) else {
                    return;
                };
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                std::fs::rename(&next, &target).expect("rename the next FIFO");
                let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
                let text = if whole_seconds {
                    format!("{}\n", now.as_secs())
                } else {
                    format!("{}.{:09}12345678901234567890123", now.as_secs(), now.subsec_nanos())
                };
                // One write below PIPE_BUF; a reader that already left gives EPIPE.
                let _ = std::io::Write::write_all(&mut fifo, text.as_bytes());
            }
        });
        Self {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RealtimeWriter {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        self.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else { return };
        // The writer may be blocked opening the FIFO: open the read end (without blocking)
        // until it has noticed the stop.
        while !thread.is_finished() {
            let _reader = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.path);
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = thread.join();
    }
}
