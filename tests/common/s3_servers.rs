//! The two loopback S3 servers that verify signatures, started on 127.0.0.1 and stopped by
//! their PIDs: s3s-fs 0.14.1 (lenient on key canonicalisation: it also accepts a path
//! signed as sent) and versitygw 1.8.0 (canonicalises the decoded key, as AWS does).
//! `scripts/setup.sh` installs both.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::time_servers::{self, faked};

/// The access key id both servers are started with.
pub const AKID: &str = "AKIDS3SEXAMPLE";
/// The secret both servers are started with.
pub const SECRET: &str = "s3sSecretKeyEXAMPLE/0123456789abcdefgh";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// s3s-fs 0.14.1.
    S3sFs,
    /// versitygw 1.8.0, posix backend.
    Versitygw,
}

impl Kind {
    /// Both, for tests that must pass against each.
    pub const BOTH: [Kind; 2] = [Kind::S3sFs, Kind::Versitygw];

    /// The program's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::S3sFs => "s3s-fs",
            Kind::Versitygw => "versitygw",
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            Kind::S3sFs => "cargo install s3s-fs@0.14.1 --locked --features binary",
            Kind::Versitygw => "GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0",
        }
    }
}

/// Where a tool the setup installs lives: `~/.cargo/bin`, `~/go/bin` (`$GOPATH/bin`),
/// `~/.local/share/realsig/moto/bin` (moto's venv), `PATH`.
pub fn installed(program: &str, hint: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cargo = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")))
        .map(|c| c.join("bin"));
    let gopath = std::env::var_os("GOPATH")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join("go")))
        .map(|g| g.join("bin"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let moto = home.as_ref().map(|h| h.join(".local/share/realsig/moto/bin"));
    cargo
        .into_iter()
        .chain(gopath)
        .chain(moto)
        .chain(on_path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed: {hint} (scripts/setup.sh does)"))
}

/// A server serving a fresh directory; killed on drop.
pub struct S3Server {
    /// Which server.
    pub kind: Kind,
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    root: tempfile::TempDir,
}

impl S3Server {
    /// Starts `kind`, its clock shifted by `fake` (a libfaketime offset) if given.
    pub fn start(kind: Kind, fake: Option<&str>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let program = installed(kind.name(), kind.install_hint());
        let mut cmd = match fake {
            Some(offset) => faked(program, offset),
            None => Command::new(program),
        };
        match kind {
            Kind::S3sFs => cmd
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", AKID, "--secret-key", SECRET])
                .arg(root.path()),
            Kind::Versitygw => cmd
                .env("ROOT_ACCESS_KEY", AKID)
                .env("ROOT_SECRET_KEY", SECRET)
                .args(["--port", &format!("127.0.0.1:{port}"), "posix"])
                .arg(root.path()),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", kind.name()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "{} did not listen within 10 s", kind.name());
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            kind,
            child,
            addr,
            root,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The directory it serves.
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        time_servers::stop(&mut self.child);
    }
}

/// The `<Key>`s of a ListObjects(V2) answer, XML-unescaped.
pub fn listed_keys(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| k))
        .map(|k| {
            k.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#39;", "'")
                .replace("&#34;", "\"")
                .replace("&amp;", "&")
        })
        .collect()
}
