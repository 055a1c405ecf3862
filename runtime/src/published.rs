//! Hears of plugins and tenant configs published to (or removed from) the
//! database and asks for a reload, so every instance on one PostgreSQL
//! serves the same builds and tenants without a shared disk. Instances
//! `LISTEN` on `store::PLUGINS_CHANNEL` and `store::TENANTS_CHANNEL`;
//! `paycore plugin publish` and `paycore tenant publish|withdraw` notify in
//! the transaction that stores the change (see `publishing`). A notice sent while the connection was down is lost, so every
//! reconnection reloads too. SQLite has no notifications: there, the next
//! reload (`POST /admin/reload`, or a change in the watched folders) picks a
//! published plugin up.

use crate::reload::Reloader;
use crate::store::{PLUGINS_CHANNEL, Store, TENANTS_CHANNEL};
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs until `stop`; returns at once on SQLite.
pub async fn run(reloader: Arc<Reloader>, store: Store, mut stop: watch::Receiver<bool>) {
    let Some(pool) = store.postgres_pool().cloned() else {
        return;
    };
    let mut reconnecting = false;
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener
                .listen_all([PLUGINS_CHANNEL, TENANTS_CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = stopped(&mut stop) => return,
            l = listener => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for publications; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            },
        };
        if reconnecting {
            reloader.reload("published").await;
        }
        reconnecting = true;
        loop {
            let notice = tokio::select! {
                _ = stopped(&mut stop) => return,
                n = listener.try_recv() => n,
            };
            match notice {
                Ok(Some(n)) => {
                    tracing::info!(
                        channel = n.channel(),
                        change = n.payload(),
                        "a publication changed"
                    );
                }
                // The connection dropped and will be re-established on the
                // next call; whatever was sent meanwhile is lost: rescan.
                Ok(None) => tracing::warn!("lost the notification connection; reloading"),
                Err(e) => {
                    tracing::warn!(error = %e, "listening for publications failed");
                    break;
                }
            }
            reloader.reload("published").await;
        }
    }
}

/// Resolves once a stop is requested (the guard `wait_for` returns is not
/// `Send`, so it must not be held across the reload's awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
