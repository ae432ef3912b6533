//! A small receiving SMTP server (RFC 5321, no relaying): every message it accepts is
//! handed to [`inbound::receive`] before the `250` that acknowledges it, so a message
//! the sender saw accepted is stored; a store failure answers `451` and the sending
//! server retries.

use std::sync::Arc;
use std::time::Duration;

use fixpoint_store::Store;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::service::inbound::{self, Inbox};

const LINE_LIMIT: u64 = 4096;
const MAX_RECIPIENTS: usize = 100;
const MAX_CONNECTIONS: usize = 64;
const IDLE: Duration = Duration::from_secs(300);

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, store: Store, clock: Clock, inbox: Inbox) {
    let inbox = Arc::new(inbox);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an SMTP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let mut socket = socket;
            let _ = socket
                .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
                .await;
            continue;
        };
        let (store, clock, inbox) = (store.clone(), clock.clone(), inbox.clone());
        tokio::spawn(async move {
            let (read, write) = socket.into_split();
            if let Err(e) = session(read, write, &store, &clock, &inbox).await {
                tracing::debug!(%peer, error = %e, "SMTP session ended");
            }
            drop(slot);
        });
    }
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// One line, at most `LINE_LIMIT` bytes; `None` at the end of the stream.
async fn line<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let read = tokio::time::timeout(IDLE, (&mut *r).take(LINE_LIMIT).read_until(b'\n', buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if read == 0 {
        return Ok(None);
    }
    let complete = buf.ends_with(b"\n");
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(complete))
}

/// Runs one SMTP conversation.
pub async fn session<R, W>(
    read: R,
    mut w: W,
    store: &Store,
    clock: &Clock,
    inbox: &Inbox,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(read);
    let host = inbox.domain.clone();
    reply(&mut w, &format!("220 {host} Fixpoint ESMTP ready")).await?;
    let mut buf = Vec::new();
    let mut sender: Option<String> = None;
    let mut recipients = 0usize;
    loop {
        let Some(complete) = line(&mut r, &mut buf).await? else {
            return Ok(());
        };
        if !complete {
            reply(&mut w, "500 5.5.2 Line too long").await?;
            continue;
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let upper = text.to_ascii_uppercase();
        let verb = upper
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        match verb.as_str() {
            "EHLO" => {
                reply(
                    &mut w,
                    &format!(
                        "250-{host}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 PIPELINING",
                        fixpoint_core::mail::MAX_INBOUND_BYTES
                    ),
                )
                .await?;
            }
            "HELO" => reply(&mut w, &format!("250 {host}")).await?,
            "MAIL" if upper.starts_with("MAIL FROM:") => {
                let declared = upper
                    .split_whitespace()
                    .find_map(|p| p.strip_prefix("SIZE="))
                    .and_then(|n| n.parse::<usize>().ok());
                if declared.is_some_and(|n| n > fixpoint_core::mail::MAX_INBOUND_BYTES) {
                    reply(&mut w, "552 5.3.4 Message too big").await?;
                } else {
                    sender = Some(text[10..].trim().to_owned());
                    recipients = 0;
                    reply(&mut w, "250 2.1.0 OK").await?;
                }
            }
            "RCPT" if upper.starts_with("RCPT TO:") => {
                if sender.is_none() {
                    reply(&mut w, "503 5.5.1 MAIL first").await?;
                } else if recipients >= MAX_RECIPIENTS {
                    reply(&mut w, "452 4.5.3 Too many recipients").await?;
                } else {
                    recipients += 1;
                    reply(&mut w, "250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if sender.is_none() || recipients == 0 {
                    reply(&mut w, "503 5.5.1 RCPT first").await?;
                    continue;
                }
                reply(&mut w, "354 End data with <CR><LF>.<CR><LF>").await?;
                let message = data(&mut r).await?;
                sender = None;
                recipients = 0;
                let Some(message) = message else {
                    reply(&mut w, "552 5.3.4 Message too big").await?;
                    continue;
                };
                match inbound::receive(store, inbox, &message, clock.now()).await {
                    Ok(received) => {
                        let what = match received.ticket_number {
                            Some(number) => format!("{} {number}", received.outcome),
                            None => received.outcome,
                        };
                        reply(&mut w, &format!("250 2.0.0 OK {what}")).await?;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "storing a received message failed");
                        reply(&mut w, "451 4.3.0 Temporary failure, try again later").await?;
                    }
                }
            }
            "RSET" => {
                sender = None;
                recipients = 0;
                reply(&mut w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 OK").await?,
            "VRFY" => reply(&mut w, "252 2.5.0 Cannot verify, but will accept").await?,
            "HELP" => reply(&mut w, "214 2.0.0 EHLO MAIL RCPT DATA RSET NOOP QUIT").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut w, "502 5.5.2 Command not recognised").await?,
        }
    }
}

/// The message after `DATA`, dot-unstuffed; `None` when it was over the limit (read
/// to its end all the same, so the conversation stays in step).
async fn data<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_big = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = tokio::time::timeout(IDLE, r.read_until(b'\n', &mut buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the message ended early",
            ));
        }
        let content = buf
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&buf);
        if content == b"." {
            return Ok((!too_big).then_some(message));
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if message.len() + content.len() + 2 > fixpoint_core::mail::MAX_INBOUND_BYTES {
            too_big = true;
            message.clear();
        }
        if !too_big {
            message.extend_from_slice(content);
            message.extend_from_slice(b"\r\n");
        }
    }
}
