//! S3 `aws-chunked` bodies: a [`Read`] adapter that frames a stream of data chunk by chunk,
//! signing each chunk through the component as it goes, so a file of any size is uploaded
//! without being held in memory.
//!
//! Framing (AWS "Transferring Payload in Multiple Chunks" and its trailer variant):
//!
//! ```text
//! signed:    hex(size);chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n [trailer] \r\n
//! unsigned:  hex(size)\r\n DATA \r\n ... 0\r\n [trailer] \r\n
//! trailer:   x-amz-checksum-crc32:BASE64\r\n [x-amz-trailer-signature:SIG\r\n]
//! ```
//!
//! Each chunk is hashed here with SHA-256 (natively: hashing in wasm is several times
//! slower) and only its digest crosses into the component.

use std::io::{self, Read};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::{ChunkSigner, ChunkedMode, Header};

/// The chunk size the AWS SDKs use: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;
/// S3's smallest chunk (all but the last): 8 KiB.
pub const MIN_CHUNK_SIZE: usize = 8 * 1024;

/// A trailing checksum of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// `x-amz-checksum-crc32`.
    Crc32,
    /// `x-amz-checksum-crc32c`.
    Crc32c,
    /// `x-amz-checksum-sha256`.
    Sha256,
}

impl Checksum {
    /// The trailer's header name.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Length of the base64 value: 4 bytes (CRCs) or 32 (SHA-256).
    fn value_len(self) -> u64 {
        match self {
            Self::Crc32 | Self::Crc32c => 8,
            Self::Sha256 => 44,
        }
    }
}

/// The running checksum of the data.
enum Running {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Sha256(Box<Sha256>),
}

impl Running {
    fn new(c: Checksum) -> Self {
        match c {
            Checksum::Crc32 => Self::Crc32(crc32fast::Hasher::new()),
            Checksum::Crc32c => Self::Crc32c(0),
            Checksum::Sha256 => Self::Sha256(Box::default()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(data),
            Self::Crc32c(v) => *v = crc32c::crc32c_append(*v, data),
            Self::Sha256(h) => h.update(data),
        }
    }

    fn base64(self) -> String {
        match self {
            Self::Crc32(h) => BASE64.encode(h.finalize().to_be_bytes()),
            Self::Crc32c(v) => BASE64.encode(v.to_be_bytes()),
            Self::Sha256(h) => BASE64.encode(h.finalize()),
        }
    }
}

/// The `content-length` of the framed body for `decoded` bytes of data.
pub fn framed_length(decoded: u64, chunk_size: usize, mode: ChunkedMode, checksum: Option<Checksum>) -> u64 {
    let signed = mode != ChunkedMode::UnsignedWithTrailer;
    // `;chunk-signature=` and 64 hex digits, or nothing.
    let signature = if signed { 17 + 64 } else { 0 };
    let chunk = |size: u64| format!("{size:x}").len() as u64 + signature + 2 + size + 2;
    let size = chunk_size as u64;
    let full = decoded / size;
    let rest = decoded % size;
    let mut total = full * chunk(size) + if rest > 0 { chunk(rest) } else { 0 };
    // The final chunk: its header, then the trailer, then the closing CRLF.
    total += 1 + signature + 2;
    if let Some(c) = checksum {
        total += c.header_name().len() as u64 + 1 + c.value_len() + 2;
        if mode == ChunkedMode::SignedWithTrailer {
            total += "x-amz-trailer-signature:".len() as u64 + 64 + 2;
        }
    }
    total + 2
}

/// Frames `data` as aws-chunked, signing each chunk with `signer` (none in
/// `unsigned-with-trailer` mode).
pub struct ChunkedBody<R> {
    data: R,
    signer: Option<ChunkSigner>,
    checksum: Option<(Checksum, Running)>,
    chunk_size: usize,
    frame: Vec<u8>,
    at: usize,
    chunk: Vec<u8>,
    finished: bool,
}

impl<R: Read> ChunkedBody<R> {
    /// Frames `data` in chunks of `chunk_size` (at least [`MIN_CHUNK_SIZE`]) bytes.
    pub fn new(data: R, signer: Option<ChunkSigner>, checksum: Option<Checksum>, chunk_size: usize) -> Self {
        let chunk_size = chunk_size.max(MIN_CHUNK_SIZE);
        Self {
            data,
            signer,
            checksum: checksum.map(|c| (c, Running::new(c))),
            chunk_size,
            frame: Vec::with_capacity(chunk_size + 128),
            at: 0,
            chunk: vec![0; chunk_size],
            finished: false,
        }
    }

    /// Reads the next chunk (full unless the data ends) and frames it in `self.frame`.
    fn next_frame(&mut self) -> io::Result<()> {
        let mut len = 0;
        while len < self.chunk_size {
            match self.data.read(&mut self.chunk[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let data = &self.chunk[..len];
        if let Some((_, running)) = &mut self.checksum {
            running.update(data);
        }
        self.frame.clear();
        self.at = 0;
        self.frame.extend_from_slice(format!("{len:x}").as_bytes());
        if let Some(signer) = &mut self.signer {
            let digest: [u8; 32] = Sha256::digest(data).into();
            let signature = signer.sign_chunk(&digest).map_err(io::Error::other)?;
            self.frame.extend_from_slice(b";chunk-signature=");
            self.frame.extend_from_slice(signature.as_bytes());
        }
        self.frame.extend_from_slice(b"\r\n");
        if len > 0 {
            self.frame.extend_from_slice(data);
            self.frame.extend_from_slice(b"\r\n");
            return Ok(());
        }
        // The final chunk: the trailer, then the closing CRLF.
        if let Some((c, running)) = self.checksum.take() {
            let value = running.base64();
            self.frame
                .extend_from_slice(format!("{}:{value}\r\n", c.header_name()).as_bytes());
            if let Some(signer) = &mut self.signer {
                let trailer = [Header {
                    name: c.header_name().into(),
                    value,
                }];
                let signature = signer.sign_trailer(&trailer).map_err(io::Error::other)?;
                self.frame.extend_from_slice(b"x-amz-trailer-signature:");
                self.frame.extend_from_slice(signature.as_bytes());
                self.frame.extend_from_slice(b"\r\n");
            }
        }
        self.frame.extend_from_slice(b"\r\n");
        self.finished = true;
        Ok(())
    }
}

impl<R: Read> Read for ChunkedBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.frame.len() {
            if self.finished {
                return Ok(0);
            }
            self.next_frame()?;
        }
        let n = buf.len().min(self.frame.len() - self.at);
        buf[..n].copy_from_slice(&self.frame[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
