//! A loopback TCP proxy in front of a channel that can lose traffic on
//! purpose: the request never reaches the channel, or the channel's answer
//! never comes back. Decided for every chunk read, so connections a client
//! keeps alive are affected too. What it dropped is kept, connection by
//! connection, so a test can wait until a given request or answer was lost
//! rather than for a while. Stopped when dropped.

#![allow(dead_code)] // each test file uses its own part of this

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the proxy does with the traffic it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Forward = 0,
    /// Requests are read and dropped: the channel never hears of them.
    DropRequests = 1,
    /// Requests reach the channel; its answers are dropped.
    DropResponses = 2,
}

/// What each direction of each connection lost (`DropRequests`: a
/// client's requests; `DropResponses`: the channel's answers).
type Dropped = Arc<Mutex<Vec<(Mode, Arc<Mutex<Vec<u8>>>)>>>;

pub struct Proxy {
    pub port: u16,
    mode: Arc<AtomicU8>,
    target: Arc<Mutex<SocketAddr>>,
    dropped: Dropped,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a fresh loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(Mode::Forward as u8));
        let target = Arc::new(Mutex::new(target));
        let dropped: Dropped = Arc::default();
        let (m, t, d) = (mode.clone(), target.clone(), dropped.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let to = *t.lock().unwrap();
                let Ok(outbound) = tokio::net::TcpStream::connect(to).await else {
                    continue;
                };
                let (from_client, to_client) = inbound.into_split();
                let (from_server, to_server) = outbound.into_split();
                let lost = [Mode::DropResponses, Mode::DropRequests].map(|direction| {
                    let lost = Arc::new(Mutex::new(Vec::new()));
                    d.lock().unwrap().push((direction, lost.clone()));
                    lost
                });
                let [answers, requests] = lost;
                tokio::spawn(pump(
                    from_server,
                    to_client,
                    m.clone(),
                    Mode::DropResponses,
                    answers,
                ));
                tokio::spawn(pump(
                    from_client,
                    to_server,
                    m.clone(),
                    Mode::DropRequests,
                    requests,
                ));
            }
        });
        Proxy {
            port,
            mode,
            target,
            dropped,
            task,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Where new connections go from now on (a restarted channel).
    pub fn retarget(&self, to: SocketAddr) {
        *self.target.lock().unwrap() = to;
    }

    /// Whether some connection lost, while the mode was `mode`, bytes
    /// containing `text` (an order number in a request or in an answer).
    pub fn dropped_containing(&self, mode: Mode, text: &str) -> bool {
        self.dropped.lock().unwrap().iter().any(|(m, lost)| {
            *m == mode && String::from_utf8_lossy(&lost.lock().unwrap()).contains(text)
        })
    }
}

/// Copies `from` to `to`, dropping what it reads while the mode is `drop_in`.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
    drop_in: Mode,
    lost: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if mode.load(Ordering::SeqCst) == drop_in as u8 {
            lost.lock().unwrap().extend_from_slice(&buf[..n]);
        } else if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
