//! The scripted upstream: a real HTTP/1.1 server on a loopback port that
//! plays the provider. It answers from the profile's templates, or
//! misbehaves on purpose (holds the request unanswered, resets the
//! connection, sends garbage), so the plugin is tested through the host's
//! real HTTP import, sockets and all.

use super::profile::Answer;
use super::template::{self, Signing, Vars};
use crate::config::SecretValue;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the next requests are answered.
#[derive(Debug, Clone)]
pub enum Mode {
    /// From the profile's answers.
    Script,
    /// Read the request, never answer (the host's HTTP timeout fires).
    Hold,
    /// Read the request, then reset the connection.
    Reset,
    /// Read the request, write these bytes as they are, close.
    Raw(Arc<Vec<u8>>),
}

/// A request the upstream received, as text for matching and checks.
#[derive(Debug, Clone)]
pub struct Received {
    /// `METHOD TARGET`, headers, body, and the body URL-decoded.
    pub text: String,
}

struct State {
    mode: Mode,
    vars: Vars,
    /// The suite's operation under way (as `profile::OPERATIONS` names
    /// it), for answers given only `during` some.
    operation: Option<&'static str>,
    received: Vec<Received>,
    /// Connections kept open unanswered until the mode changes.
    held: Vec<TcpStream>,
}

pub struct Upstream {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Script {
    answers: Vec<Answer>,
    keys: BTreeMap<String, SecretValue>,
}

impl Upstream {
    pub async fn start(
        answers: Vec<Answer>,
        keys: BTreeMap<String, SecretValue>,
    ) -> std::io::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Script,
            vars: Vars::new(),
            operation: None,
            received: Vec::new(),
            held: Vec::new(),
        }));
        let script = Arc::new(Script { answers, keys });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone(), script.clone()));
            }
        });
        Ok(Upstream { addr, state, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets how the next requests are answered, what the templates see and
    /// which operation asks; releases held connections and forgets what
    /// was received.
    pub fn set(&self, mode: Mode, vars: Vars, operation: Option<&'static str>) {
        let mut state = self.state.lock().expect("upstream lock");
        state.mode = mode;
        state.vars = vars;
        state.operation = operation;
        state.received.clear();
        state.held.clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("upstream lock").received.clone()
    }
}

/// Requests larger than this are refused: the suite's plugins send small ones.
const MAX_REQUEST_BYTES: usize = 4 << 20;

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>, script: Arc<Script>) {
    let Some(text) = read_request(&mut stream).await else {
        return;
    };
    let (mode, vars, operation) = {
        let state = state.lock().expect("upstream lock");
        (state.mode.clone(), state.vars.clone(), state.operation)
    };
    let reply = match mode {
        Mode::Hold => {
            record(&state, text);
            state.lock().expect("upstream lock").held.push(stream);
            return;
        }
        Mode::Reset => {
            record(&state, text);
            // Linger 0: close with RST, so the host sees a reset, not an EOF.
            let _ = stream.set_zero_linger();
            return;
        }
        Mode::Raw(bytes) => {
            record(&state, text);
            bytes.to_vec()
        }
        Mode::Script => {
            let answer = script.answers.iter().find(|a| {
                a.when.iter().all(|w| text.contains(w.as_str()))
                    && (a.during.is_empty()
                        || operation.is_some_and(|op| a.during.iter().any(|d| d == op)))
            });
            record(&state, text.clone());
            match answer {
                Some(a) => scripted(a, &vars, &script.keys).unwrap_or_else(|e| {
                    response(500, &[], format!("profile error: {e}").as_bytes())
                }),
                None => response(
                    404,
                    &[],
                    b"the conformance profile has no answer for this request",
                ),
            }
        }
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

fn record(state: &Mutex<State>, text: String) {
    state
        .lock()
        .expect("upstream lock")
        .received
        .push(Received { text });
}

fn scripted(
    answer: &Answer,
    vars: &Vars,
    keys: &BTreeMap<String, SecretValue>,
) -> Result<Vec<u8>, template::TemplateError> {
    let m = template::message(
        &answer.lets,
        &answer.body,
        &answer.headers,
        vars,
        keys,
        Signing::Honest,
        &Vars::new(),
    )?;
    Ok(response(answer.status, &m.headers, m.body.as_bytes()))
}

fn response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one request (head and `Content-Length` body) and returns it as
/// text to match against; `None` if the client went away.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_REQUEST_BYTES {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(MAX_REQUEST_BYTES);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    let decoded: String = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    Some(format!("{head}{body}\n{decoded}"))
}
