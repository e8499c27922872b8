//! The bodies the proxy streams: every frame passes through as it arrives, with a bound on
//! the silence between frames ([`Idle`]), and S3 uploads framed and signed chunk by chunk
//! ([`AwsChunked`]). Neither holds more than one chunk.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use realsig::ChunkSigner;
use sha2::{Digest, Sha256};
use tokio::time::{Instant, Sleep};

/// Errors in a body stream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body that fails when `timeout` passes without a frame (an upstream or a client that
/// stops sending mid-body).
pub struct Idle<B> {
    inner: B,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    /// Who went quiet, for the error: "the upstream", "the client".
    who: &'static str,
}

impl<B> Idle<B> {
    /// `inner`, failing after `timeout` of silence from `who`.
    pub fn new(inner: B, timeout: Duration, who: &'static str) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            who,
        }
    }
}

/// The error of a body that went quiet.
#[derive(Debug, thiserror::Error)]
#[error("{who} sent nothing for {secs} s mid-body")]
pub struct IdleTimeout {
    who: &'static str,
    secs: f64,
}

impl<B> Body for Idle<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(IdleTimeout {
                    who: this.who,
                    secs: this.timeout.as_secs_f64(),
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A client body that is not the length it announced.
#[derive(Debug, thiserror::Error)]
#[error("the client's body is not the {expected} bytes its content-length announced ({received} arrived)")]
pub struct WrongLength {
    expected: u64,
    received: u64,
}

/// The client's data framed as S3 `aws-chunked` (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), each
/// chunk hashed natively and signed through the component as it fills; the framing of
/// [`realsig::chunked`], for an async body.
pub struct AwsChunked<B> {
    inner: B,
    signer: ChunkSigner,
    chunk_size: usize,
    /// Data of the chunk being filled.
    filling: BytesMut,
    /// Framed pieces ready to go: a chunk's header, its data, its CRLF.
    ready: VecDeque<Bytes>,
    expected: u64,
    received: u64,
    framed_length: u64,
    finished: bool,
}

impl<B> AwsChunked<B> {
    /// Frames `inner`, which must be `expected` bytes, in chunks of `chunk_size`;
    /// `framed_length` is the `content-length` that was signed.
    pub fn new(inner: B, signer: ChunkSigner, chunk_size: usize, expected: u64, framed_length: u64) -> Self {
        Self {
            inner,
            signer,
            chunk_size,
            filling: BytesMut::with_capacity(chunk_size),
            ready: VecDeque::with_capacity(3),
            expected,
            received: 0,
            framed_length,
            finished: false,
        }
    }

    /// Frames `data` (empty: the final chunk) into `ready`.
    fn frame(&mut self, data: Bytes) -> Result<(), BoxError> {
        let digest: [u8; 32] = Sha256::digest(&data).into();
        let signature = self.signer.sign_chunk(&digest)?;
        let header = format!("{:x};chunk-signature={signature}\r\n", data.len());
        self.ready.push_back(Bytes::from(header));
        if data.is_empty() {
            self.ready.push_back(Bytes::from_static(b"\r\n"));
        } else {
            self.ready.push_back(data);
            self.ready.push_back(Bytes::from_static(b"\r\n"));
        }
        Ok(())
    }
}

impl<B> Body for AwsChunked<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(piece) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if this.filling.len() >= this.chunk_size {
                let chunk = this.filling.split_to(this.chunk_size).freeze();
                if let Err(e) = this.frame(chunk) {
                    return Poll::Ready(Some(Err(e)));
                }
                continue;
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // a client's HTTP trailers are not S3's
                    };
                    this.received += data.len() as u64;
                    if this.received > this.expected {
                        return Poll::Ready(Some(Err(Box::new(WrongLength {
                            expected: this.expected,
                            received: this.received,
                        }))));
                    }
                    this.filling.extend_from_slice(&data);
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None if this.received != this.expected => {
                    return Poll::Ready(Some(Err(Box::new(WrongLength {
                        expected: this.expected,
                        received: this.received,
                    }))));
                }
                None => {
                    let last = this.filling.split().freeze();
                    let framed = if last.is_empty() { Ok(()) } else { this.frame(last) };
                    if let Err(e) = framed.and_then(|()| this.frame(Bytes::new())) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    this.finished = true;
                }
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.framed_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use realsig::chunked::{ChunkedBody, framed_length};
    use realsig::{ChunkedMode, Credentials, FixedClock, Request, Signer, Upload};
    use std::io::Read;
    use std::time::{Duration, UNIX_EPOCH};

    fn chunk_signer(len: u64) -> ChunkSigner {
        let signer = Signer::builder()
            .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(1_440_938_160)))
            .build()
            .unwrap();
        let mut request = Request::new("PUT", "http://127.0.0.1:9/b/k", "us-east-1", "s3");
        request.headers.push(realsig::Header {
            name: "content-length".into(),
            value: framed_length(len, 8192, ChunkedMode::Signed, None).to_string(),
        });
        let upload = Upload {
            mode: ChunkedMode::Signed,
            decoded_content_length: len,
            trailer: None,
        };
        signer
            .start_chunked(&request, &Credentials::new("AKID", "secret", None), &upload)
            .unwrap()
            .1
    }

    /// The async framing is byte for byte the host's `ChunkedBody` (which the streaming
    /// tests check against S3 servers), whatever sizes the client's frames come in.
    #[tokio::test]
    async fn frames_as_the_hosts_chunked_body_does() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let len = data.len() as u64;
        let mut expected = Vec::new();
        ChunkedBody::new(&data[..], Some(chunk_signer(len)), None, 8192)
            .read_to_end(&mut expected)
            .unwrap();
        let pieces: Vec<Result<Frame<Bytes>, BoxError>> = data
            .chunks(3001)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let framed = framed_length(len, 8192, ChunkedMode::Signed, None);
        let body = AwsChunked::new(
            StreamBody::new(futures_stream(pieces)),
            chunk_signer(len),
            8192,
            len,
            framed,
        );
        assert_eq!(body.size_hint().exact(), Some(framed));
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(got.len() as u64, framed);
        assert_eq!(&got[..], &expected[..]);
    }

    #[tokio::test]
    async fn a_body_shorter_or_longer_than_announced_fails() {
        for (sent, announced) in [(10_000usize, 12_000u64), (12_000, 10_000)] {
            let pieces = vec![Ok(Frame::data(Bytes::from(vec![1u8; sent])))];
            let body = AwsChunked::new(
                StreamBody::new(futures_stream(pieces)),
                chunk_signer(announced),
                8192,
                announced,
                0,
            );
            let err = body.collect().await.map(drop).expect_err("a wrong length fails");
            assert!(err.to_string().contains(&format!("{announced} bytes")), "{err}");
        }
    }

    #[tokio::test]
    async fn a_quiet_body_fails_after_the_idle_timeout() {
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(1);
        let quiet = StreamBody::new(Receiver(rx));
        let err = Idle::new(quiet, Duration::from_millis(50), "the upstream")
            .collect()
            .await
            .map(drop)
            .expect_err("silence fails");
        assert_eq!(err.to_string(), "the upstream sent nothing for 0.05 s mid-body");
    }

    /// A stream of ready items (no futures-util dependency for three lines).
    fn futures_stream(items: Vec<Result<Frame<Bytes>, BoxError>>) -> Ready {
        Ready(items.into())
    }

    struct Ready(VecDeque<Result<Frame<Bytes>, BoxError>>);

    impl futures_core::Stream for Ready {
        type Item = Result<Frame<Bytes>, BoxError>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.pop_front())
        }
    }

    struct Receiver(tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, BoxError>>);

    impl futures_core::Stream for Receiver {
        type Item = Result<Frame<Bytes>, BoxError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}
