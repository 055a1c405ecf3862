//! The compiled-code cache: a second load of the same plugin skips
//! compilation; a corrupt entry is ignored and rebuilt. Prints the figures.

use paycore::plugin_host::PluginHost;
use std::path::PathBuf;

fn sandbox_wasm() -> Vec<u8> {
    let dir = std::env::var_os("PAYCORE_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins"))
        });
    std::fs::read(dir.join("sandbox.wasm"))
        .expect("run `cargo xtask test`, which builds the plugins")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_load_comes_from_the_cache_and_a_corrupt_entry_is_rebuilt() {
    paycore::plugin_host::install_crypto_provider();
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::with_cache(
        Default::default(),
        Some(cache.path().to_path_buf()),
        Default::default(),
    )
    .unwrap();
    let wasm = sandbox_wasm();

    let first = host.load_bytes(wasm.clone()).await.unwrap();
    assert!(!first.load.from_cache);
    let second = host.load_bytes(wasm.clone()).await.unwrap();
    assert!(second.load.from_cache);
    assert_eq!(first.digest, second.digest);
    println!(
        "sandbox.wasm: compiled and checked in {:.1} ms, from cache in {:.1} ms",
        first.load.millis, second.load.millis
    );

    let entries: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&first.digest)
    );
    std::fs::write(&entries[0], b"not a compiled component").unwrap();
    let third = host.load_bytes(wasm).await.unwrap();
    assert!(!third.load.from_cache, "a corrupt entry is ignored");
    assert_eq!(third.manifest.name, "sandbox");
    let rebuilt = std::fs::read(&entries[0]).unwrap();
    assert!(rebuilt.len() > 1000, "and rebuilt");
}
