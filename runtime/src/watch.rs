//! Watches the plugins folder and the config folder and asks for a reload
//! when something relevant changes. Events are debounced (editors write in
//! several steps) and coalesced (one reload covers a burst of changes).

use crate::reload::{Reloader, is_temporary};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const DEBOUNCE: Duration = Duration::from_millis(300);

fn relevant(path: &Path) -> bool {
    !is_temporary(path) && path.extension().is_some_and(|x| x == "wasm" || x == "toml")
}

/// Only changes count. Opening or reading a file is reported too (as
/// `Access`), and a reload reads every watched file: counting those would
/// make each reload trigger the next, forever.
fn is_change(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_))
}

/// Runs until `stop`; returns at once (logging why) if watching is impossible.
pub async fn run(reloader: Arc<Reloader>, mut stop: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        if let Ok(events) = result
            && events
                .iter()
                .any(|e| is_change(&e.kind) && e.paths.iter().any(|p| relevant(p)))
        {
            // A full channel already holds a pending reload: this one is covered.
            let _ = tx.try_send(());
        }
    });
    let mut debouncer = match debouncer {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch for changes; use POST /admin/reload");
            return;
        }
    };
    let mut folders = reloader.config_dirs();
    folders.push(reloader.plugins_dir().to_path_buf());
    for folder in &folders {
        if let Err(e) = debouncer.watch(folder, RecursiveMode::Recursive) {
            tracing::error!(folder = %folder.display(), error = %e, "cannot watch folder");
        }
    }
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            Some(()) = rx.recv() => {
                reloader.reload("watch").await;
            }
        }
    }
}

/// Resolves once a stop is requested (the guard `wait_for` returns must not
/// live across the reload's awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
