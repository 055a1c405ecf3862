//! The compiled-code cache: compiled plugins on disk, keyed by the `.wasm`
//! digest and the engine's compatibility hash (wasmtime version and
//! settings), so restarts and reloads skip compilation.
//!
//! Loading a cached file is `unsafe` in wasmtime's terms: native code is
//! mapped and run. Only files this host wrote are loaded (named by a digest
//! of the source and the engine), and the cache folder must be as trusted as
//! the binary itself. A stale or corrupt entry fails to deserialize and is
//! rebuilt.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

/// Where a component came from, for logs and figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Compiled,
    Cached,
}

impl CompiledCache {
    pub fn new(dir: PathBuf) -> Self {
        CompiledCache { dir }
    }

    fn entry(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
    }
}

/// Compiles `bytes`, or loads the cached compilation of the same digest.
/// Runs on a blocking thread: compilation takes tens to hundreds of ms.
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    digest: &str,
    cache: Option<&CompiledCache>,
) -> wasmtime::Result<(Component, Source)> {
    let Some(cache) = cache else {
        return Ok((Component::new(engine, bytes)?, Source::Compiled));
    };
    let entry = cache.entry(engine, digest);
    // Read into memory rather than mapping the file: a mapped entry that
    // someone truncates or rewrites in place would crash the process.
    if let Ok(compiled) = std::fs::read(&entry) {
        // SAFETY: the file is named by the digest of the source and the
        // engine's compatibility hash, and only `store` below writes it;
        // wasmtime checks its header and version before use.
        match unsafe { Component::deserialize(engine, &compiled) } {
            Ok(component) => return Ok((component, Source::Cached)),
            Err(e) => {
                tracing::warn!(path = %entry.display(), error = %e, "ignoring an unusable compiled-code cache entry")
            }
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(&entry, &component.serialize()?) {
        tracing::warn!(path = %entry.display(), error = %e, "cannot write the compiled-code cache");
    }
    Ok((component, Source::Compiled))
}

/// Writes atomically (temp file + rename), so a concurrent reader never sees
/// half a file.
fn store(entry: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = entry.parent().expect("cache entries live in a folder");
    std::fs::create_dir_all(dir)?;
    let unique: u64 = rand::random();
    let name = entry
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("entry");
    let temp = dir.join(format!(".{name}.{unique:016x}.tmp"));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, entry)
}
