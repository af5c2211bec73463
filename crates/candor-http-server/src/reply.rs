//! Replies whose body is produced while it is sent: a reply too large to hold, one that trickles,
//! or one that stops half-way on purpose.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::{Handler, Request, Response};

/// A response whose body may be streamed ([`reply_channel`]) or whole (`From<Full<Bytes>>`).
pub type StreamingResponse = http::Response<ReplyBody>;

/// What answers requests with replies that may be streamed. Implemented for any
/// `Fn(Request) -> Future<Output = StreamingResponse>`; [`WholeReplies`] adapts a [`Handler`].
pub trait StreamingHandler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(
        &self,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = StreamingResponse> + Send + 'static>>;

    /// As [`Handler::max_body_bytes`].
    fn max_body_bytes(&self, method: &http::Method, path: &str) -> Option<usize> {
        let _ = (method, path);
        None
    }
}

impl<F, Fut> StreamingHandler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StreamingResponse> + Send + 'static,
{
    fn handle(
        &self,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = StreamingResponse> + Send + 'static>> {
        Box::pin(self(request))
    }
}

/// A [`Handler`] (whole replies) where a [`StreamingHandler`] is asked for, as in
/// [`Server::spawn`](crate::Server::spawn).
#[derive(Debug, Clone)]
pub struct WholeReplies<H>(pub H);

impl<H: Handler> StreamingHandler for WholeReplies<H> {
    fn handle(
        &self,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = StreamingResponse> + Send + 'static>> {
        let reply = self.0.handle(request);
        Box::pin(async move { reply.await.map(ReplyBody::from) })
    }

    fn max_body_bytes(&self, method: &http::Method, path: &str) -> Option<usize> {
        self.0.max_body_bytes(method, path)
    }
}

/// A reply's body: whole, or fed through a [`ReplySender`] while the server sends it.
pub struct ReplyBody(UnsyncBoxBody<Bytes, ReplyAborted>);

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyBody")
            .field("size_hint", &self.0.size_hint())
            .finish_non_exhaustive()
    }
}

impl From<Full<Bytes>> for ReplyBody {
    fn from(body: Full<Bytes>) -> Self {
        Self(body.map_err(|never| match never {}).boxed_unsync())
    }
}

impl From<Bytes> for ReplyBody {
    fn from(bytes: Bytes) -> Self {
        Self::from(Full::new(bytes))
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = ReplyAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ReplyAborted>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

/// A whole response turned into one that [`StreamingHandler`]s return.
pub(crate) fn streaming(response: Response) -> StreamingResponse {
    response.map(ReplyBody::from)
}

/// Why a streamed reply stopped before its end: [`ReplySender::abort`]. The server then closes
/// the connection, so the client sees the reply cut short (a `Content-Length` it never reaches,
/// or a chunked body without its last chunk).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the reply was aborted before its end")]
#[non_exhaustive]
pub struct ReplyAborted;

/// The client is gone (or the server stopped): nothing more of the reply will be sent.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the client no longer reads this reply")]
#[non_exhaustive]
pub struct ReplyClosed;

#[derive(Debug)]
enum Piece {
    Data(Bytes),
    Abort,
}

/// The writing end of a streamed reply ([`reply_channel`]). Dropping it ends the body; if the
/// response declared a `Content-Length` that was not reached, the connection is closed instead.
#[derive(Debug)]
pub struct ReplySender(mpsc::Sender<Piece>);

impl ReplySender {
    /// Sends the next piece of the body, waiting while `buffer` pieces are unsent (so a slow
    /// client holds back the writer instead of growing memory). Fails once the client has
    /// gone: its connection closed or the server stopped.
    pub async fn send(&mut self, piece: Bytes) -> Result<(), ReplyClosed> {
        self.0
            .send(Piece::Data(piece))
            .await
            .map_err(|_| ReplyClosed)
    }

    /// Stops the reply here and closes the connection. What was sent before is written out
    /// first (as far as the client's socket takes it): the client sees a reply cut short, not
    /// a connection closed before any answer.
    pub async fn abort(self) {
        let _ = self.0.send(Piece::Abort).await;
    }
}

/// The reading end: pieces as they come; at an abort, once more `Pending` (so the server
/// flushes what it wrote, as hyper does whenever a body is not ready), then the error.
struct Streamed {
    pieces: mpsc::Receiver<Piece>,
    aborting: bool,
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = ReplyAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ReplyAborted>>> {
        if self.aborting {
            return Poll::Ready(Some(Err(ReplyAborted)));
        }
        match self.pieces.poll_recv(cx) {
            Poll::Ready(Some(Piece::Data(piece))) => Poll::Ready(Some(Ok(Frame::data(piece)))),
            Poll::Ready(Some(Piece::Abort)) => {
                self.aborting = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A body fed piece by piece while the server sends it, and its writing end; at most `buffer`
/// pieces (at least one) wait between the two.
pub fn reply_channel(buffer: usize) -> (ReplySender, ReplyBody) {
    let (sender, pieces) = mpsc::channel(buffer.max(1));
    let body = Streamed {
        pieces,
        aborting: false,
    };
    (ReplySender(sender), ReplyBody(body.boxed_unsync()))
}
