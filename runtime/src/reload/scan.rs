//! Reading the plugins: the folder's files and the builds published to the
//! database, each checked against what serves (versions immutable, a
//! refused or half-written file keeping its last good build, a build that
//! asks for more held for approval).

use super::*;

/// Editors and copy tools leave these behind; they are never plugins.
pub fn is_temporary(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.starts_with('.')
        || name.ends_with('~')
        || [".swp", ".tmp", ".part", ".crdownload"]
            .iter()
            .any(|s| name.ends_with(s))
}

impl Reloader {
    /// Loads what changed in the plugins folder; keeps what did not. A file
    /// whose new content is refused keeps its last good build serving; only
    /// a file removed from the folder takes its build away.
    pub(super) async fn scan_plugins(&self, previous: &[Live]) -> Scan {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&self.plugins_dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wasm") && !is_temporary(p))
                .collect(),
            Err(e) => {
                tracing::error!(dir = %self.plugins_dir.display(), error = %e, "cannot read the plugins folder");
                let mut note = format!(
                    "the plugins folder {} cannot be read ({e})",
                    self.plugins_dir.display()
                );
                if !previous.is_empty() {
                    note.push_str("; what was loaded keeps serving");
                }
                return Scan {
                    live: previous.to_vec(),
                    refused: Vec::new(),
                    kept: vec![note],
                };
            }
        };
        files.sort();
        let mut scan = Scan::default();
        for file in &files {
            let last_good = previous.iter().find(|l| &l.file == file);
            match read_file(file).await {
                FileRead::Gone => continue,
                FileRead::Empty => {
                    if let Some(good) = last_good {
                        scan.keep(good, "is empty (being written?)");
                    }
                    continue;
                }
                FileRead::Unreadable(e) => {
                    if let Some(good) = last_good {
                        scan.keep(good, &format!("cannot be read ({e})"));
                    } else {
                        tracing::error!(file = %file.display(), error = %e, "cannot read a plugin file");
                    }
                    continue;
                }
                FileRead::Bytes(bytes) => {
                    let refused_before = scan.refused.len();
                    self.consider(
                        file.clone(),
                        bytes,
                        previous,
                        &mut scan.live,
                        &mut scan.refused,
                    )
                    .await;
                    let serves = scan.live.iter().any(|l| &l.file == file);
                    if let Some(good) = last_good.filter(|_| !serves) {
                        let why = scan.refused[refused_before..]
                            .iter()
                            .find_map(|r| r.reason.clone())
                            .unwrap_or_else(|| "was refused".into());
                        scan.keep(good, &format!("has new content that was refused: {why}"));
                    }
                }
            }
        }
        for gone in previous
            .iter()
            .filter(|l| !is_published(&l.file) && !files.contains(&l.file))
        {
            // The operator's decision, not an accident: a distinct event.
            tracing::warn!(
                file = %gone.file.display(),
                plugin = gone.plugin.label(),
                "plugin file removed from the folder: retiring its build"
            );
        }
        self.scan_published(previous, &mut scan.live, &mut scan.refused)
            .await;
        scan
    }

    /// Plugins published to the database (`paycore plugin publish`), checked
    /// exactly like files; a build already loaded is kept without fetching
    /// its bytes again.
    pub(super) async fn scan_published(
        &self,
        previous: &[Live],
        live: &mut Vec<Live>,
        refused: &mut Vec<PluginStatus>,
    ) {
        let store = self.payments.store();
        let published = match store.published_plugins().await {
            Ok(p) => p,
            Err(e) => {
                // A database hiccup must not retire what serves.
                tracing::error!(error = %e, "cannot read the published plugins; keeping those loaded");
                live.extend(previous.iter().filter(|l| is_published(&l.file)).cloned());
                return;
            }
        };
        for p in published {
            let file = PathBuf::from(format!("{PUBLISHED}{}@{}", p.name, p.version));
            if let Some(same) = previous.iter().find(|l| l.plugin.digest == p.digest) {
                if !live.iter().any(|l| l.plugin.digest == p.digest) {
                    live.push(Live {
                        file,
                        ..same.clone()
                    });
                }
                continue;
            }
            let bytes = match store.published_plugin_bytes(&p.digest).await {
                Ok(Some(bytes)) if hex::encode(Sha256::digest(&bytes)) == p.digest => bytes,
                Ok(Some(_)) => {
                    tracing::error!(file = %file.display(), "published bytes do not match their digest; skipped");
                    continue;
                }
                Ok(None) => continue, // unpublished meanwhile
                Err(e) => {
                    tracing::error!(file = %file.display(), error = %e, "cannot read a published plugin");
                    continue;
                }
            };
            self.consider(file, bytes, previous, live, refused).await;
        }
    }

    /// Checks one plugin build (from a file or the database) against what is
    /// loaded: kept by digest, refused if its version is taken by another
    /// build, else loaded with every check.
    pub(super) async fn consider(
        &self,
        file: PathBuf,
        bytes: Vec<u8>,
        previous: &[Live],
        live: &mut Vec<Live>,
        refused: &mut Vec<PluginStatus>,
    ) {
        let digest = hex::encode(Sha256::digest(&bytes));
        if live.iter().any(|l| l.plugin.digest == digest) {
            // A second copy of a file already taken (or kept below).
            return;
        }
        if let Some(same) = previous.iter().find(|l| l.plugin.digest == digest) {
            live.push(Live {
                file,
                ..same.clone()
            });
            return;
        }
        let refuse = |reason: String| {
            metrics::counter!("paycore_plugin_loads_total", "result" => "refused").increment(1);
            tracing::error!(file = %file.display(), %reason, "plugin refused");
            PluginStatus {
                file: file.display().to_string(),
                name: None,
                version: None,
                contract_version: None,
                digest: format!("sha256:{digest}"),
                state: PluginState::Refused,
                reason: Some(reason),
                loaded_at: None,
                calls_in_flight: 0,
                from_cache: None,
                load_ms: None,
            }
        };
        if let Err(reason) = crate::provenance::admit(&self.plugin_policy, &bytes) {
            refused.push(refuse(reason.to_string()));
            return;
        }
        let plugin = match self.load_with_retry(&file, bytes).await {
            Ok(p) => p,
            Err(reason) => {
                refused.push(refuse(reason.to_string()));
                return;
            }
        };
        let taken = live
            .iter()
            .chain(previous.iter())
            .find(|l| l.plugin.label() == plugin.label() && l.plugin.digest != plugin.digest);
        if let Some(other) = taken {
            let reason = format!(
                "{} is already loaded with digest sha256:{}; versions are immutable, publish a new version instead",
                plugin.label(),
                other.plugin.digest
            );
            let mut status = refuse(reason);
            status.name = Some(plugin.manifest.name.clone());
            status.version = Some(plugin.manifest.version.to_string());
            refused.push(status);
            // If the loaded one's own file was overwritten in place, it keeps serving.
            if let Some(prev) = previous.iter().find(|l| l.plugin.label() == plugin.label())
                && !live.iter().any(|l| l.plugin.digest == prev.plugin.digest)
            {
                live.push(prev.clone());
            }
            return;
        }
        metrics::counter!("paycore_plugin_loads_total", "result" => "loaded").increment(1);
        tracing::info!(plugin = plugin.label(), digest = %plugin.digest, from_cache = plugin.load.from_cache, load_ms = plugin.load.millis, file = %file.display(), "plugin loaded");
        live.push(Live {
            file,
            plugin,
            loaded_at: now_rfc3339(),
        });
    }

    /// A file being copied in may be caught half-written: a load that fails
    /// is retried once after a short pause with the file read again.
    pub(super) async fn load_with_retry(
        &self,
        file: &Path,
        bytes: Vec<u8>,
    ) -> Result<Plugin, crate::plugin_host::LoadError> {
        match self.host.load_bytes(bytes).await {
            Ok(p) => Ok(p),
            Err(first) => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                match tokio::fs::read(file).await {
                    Ok(again) => self.host.load_bytes(again).await,
                    Err(_) => Err(first),
                }
            }
        }
    }
}

/// A file whose new content is held for the operator (awaiting approval, or
/// held by the replay gate) keeps its last good build serving, unless the
/// operator rolled that build back: holding a build must not take away the
/// one it would replace, whether it came as a new file or over the old one.
pub(super) fn keep_builds_of_held_files(
    live: &mut Vec<Live>,
    previous: &[Live],
    statuses: &[PluginStatus],
    decisions: &Decisions,
    differences: &mut Vec<String>,
) {
    for prev in previous {
        let file = prev.file.display().to_string();
        let held = statuses
            .iter()
            .find(|s| s.file == file && s.state.is_held());
        let serves_from_file = live.iter().any(|l| l.file == prev.file);
        let rolled_back = decisions.rolled_back.contains(prev.plugin.label());
        if let Some(held) = held.filter(|_| !serves_from_file && !rolled_back) {
            if !live.iter().any(|l| l.plugin.digest == prev.plugin.digest) {
                live.push(prev.clone());
            }
            differences.push(format!(
                "{file} holds {}@{} ({}); its last good build {} keeps serving",
                held.name.as_deref().unwrap_or("?"),
                held.version.as_deref().unwrap_or("?"),
                held.state,
                prev.plugin.label()
            ));
        }
    }
}

/// How a published plugin's source shows in `/admin/plugins`.
const PUBLISHED: &str = "published:";

pub(super) fn is_published(file: &Path) -> bool {
    file.to_str().is_some_and(|f| f.starts_with(PUBLISHED))
}

/// What reading a plugin file found.
pub(super) enum FileRead {
    /// Removed between listing the folder and reading it.
    Gone,
    /// There but empty: being written, most likely.
    Empty,
    /// There but not readable (permissions, I/O).
    Unreadable(String),
    Bytes(Vec<u8>),
}

async fn read_file(file: &Path) -> FileRead {
    match tokio::fs::read(file).await {
        Ok(bytes) if bytes.is_empty() => FileRead::Empty,
        Ok(bytes) => FileRead::Bytes(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileRead::Gone,
        Err(e) => FileRead::Unreadable(e.to_string()),
    }
}

/// One scan of the plugins: what serves, what was refused, and, for each
/// file whose last good build keeps serving, why.
#[derive(Default)]
pub(super) struct Scan {
    pub(super) live: Vec<Live>,
    pub(super) refused: Vec<PluginStatus>,
    pub(super) kept: Vec<String>,
}

impl Scan {
    /// Keeps `good` serving from its file, whose current content `why`.
    fn keep(&mut self, good: &Live, why: &str) {
        if !self
            .live
            .iter()
            .any(|l| l.plugin.digest == good.plugin.digest)
        {
            self.live.push(good.clone());
        }
        let note = format!(
            "{} {why}; its last good build {} (sha256:{}) keeps serving",
            good.file.display(),
            good.plugin.label(),
            good.plugin.digest
        );
        tracing::error!(file = %good.file.display(), plugin = good.plugin.label(), reason = why, "plugin file refused; keeping its last good build");
        self.kept.push(note);
    }
}
