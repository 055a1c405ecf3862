//! Embeds the plugin SDK in the `paycore` binary, for `paycore plugin new`
//! (`src/scaffold.rs`): a crate generated anywhere builds against the SDK
//! of the paycore that made it, with nothing but a package registry.
//!
//! Writes `$OUT_DIR/sdk.rs` with
//! - `SDK_FILES`: every file of `plugin-sdk/src`, `plugin-sdk/wit` and its
//!   README, included from this source tree (so a change to the SDK
//!   rebuilds the binary with it);
//! - `SDK_CARGO_TOML`: `plugin-sdk/Cargo.toml` made standalone, each
//!   `workspace = true` replaced by what the workspace says;
//! - `LOCK_VERSION`, `LOCK_PACKAGES`, `LOCK_ROOT_DEPENDENCIES`: the packages
//!   of this workspace's `Cargo.lock` that the SDK and the template's
//!   dependencies reach, and the generated crate's own dependencies as its
//!   entry lists them, so it builds with the versions the SDK is tested
//!   with here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let sdk = root.join("plugin-sdk");
    for watched in [
        sdk.clone(),
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        manifest_dir.join("templates/plugin/Cargo.toml.in"),
    ] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }

    let workspace: toml::Table = read(&root.join("Cargo.toml")).parse().unwrap();
    let workspace = &workspace["workspace"];
    let cargo_toml = standalone(&read(&sdk.join("Cargo.toml")), workspace);

    let mut files = vec![sdk.join("README.md")];
    walk(&sdk.join("src"), &mut files);
    walk(&sdk.join("wit"), &mut files);
    files.sort();

    let template_deps =
        template_dependencies(&read(&manifest_dir.join("templates/plugin/Cargo.toml.in")));
    let (lock_version, packages, root_deps) =
        lock_closure(&read(&root.join("Cargo.lock")), &template_deps);

    let mut out = String::new();
    writeln!(out, "pub const SDK_CARGO_TOML: &str = {cargo_toml:?};").unwrap();
    writeln!(out, "pub const SDK_FILES: &[(&str, &str)] = &[").unwrap();
    for file in &files {
        let relative = file.strip_prefix(&sdk).unwrap();
        let relative = relative
            .components()
            .map(|c| c.as_os_str().to_str().unwrap())
            .collect::<Vec<_>>()
            .join("/");
        let absolute = file.to_str().expect("SDK paths are UTF-8");
        writeln!(out, "    ({relative:?}, include_str!({absolute:?})),").unwrap();
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "pub const LOCK_VERSION: i64 = {lock_version};").unwrap();
    writeln!(out, "pub const LOCK_PACKAGES: &[(&str, &str)] = &[").unwrap();
    for (name, entry) in &packages {
        writeln!(out, "    ({name:?}, {entry:?}),").unwrap();
    }
    writeln!(out, "];").unwrap();
    writeln!(
        out,
        "pub const LOCK_ROOT_DEPENDENCIES: &[&str] = &{root_deps:?};"
    )
    .unwrap();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("sdk.rs"), out).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// `plugin-sdk/Cargo.toml` with every `workspace = true` resolved, line by
/// line so its comments stay; the `[lints]` table (this workspace's policy
/// for its own code) is left out.
fn standalone(manifest: &str, workspace: &toml::Value) -> String {
    let mut out = String::from(
        "# The SDK of the paycore that generated this plugin, written by\n\
         # `paycore plugin new`: the exact contract (wit/) that paycore implements.\n",
    );
    let mut section = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        if section == "[lints]" {
            continue;
        }
        let Ok(parsed) = trimmed.parse::<toml::Table>() else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let Some((key, value)) = parsed.iter().next() else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let inherits = value
            .as_table()
            .and_then(|t| t.get("workspace"))
            .and_then(toml::Value::as_bool)
            == Some(true);
        if !inherits {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let local = value.as_table().unwrap();
        let resolved = if section == "[package]" {
            workspace["package"][key.as_str()].clone()
        } else {
            let mut dep = match &workspace["dependencies"][key.as_str()] {
                toml::Value::String(version) => {
                    let mut t = toml::Table::new();
                    t.insert("version".into(), toml::Value::String(version.clone()));
                    t
                }
                toml::Value::Table(t) => t.clone(),
                other => panic!("workspace dependency {key}: {other:?}"),
            };
            assert!(
                !dep.contains_key("path"),
                "the SDK depends on workspace crate {key}, which a standalone plugin cannot have"
            );
            for (k, v) in local.iter().filter(|(k, _)| *k != "workspace") {
                match (k.as_str(), dep.get_mut(k)) {
                    ("features", Some(toml::Value::Array(features))) => {
                        features.extend(v.as_array().unwrap().iter().cloned())
                    }
                    _ => {
                        dep.insert(k.clone(), v.clone());
                    }
                }
            }
            toml::Value::Table(dep)
        };
        let value = match resolved {
            toml::Value::Table(t) => inline(&t),
            other => other.to_string(),
        };
        writeln!(out, "{key} = {value}").unwrap();
    }
    out
}

/// A dependency as one would write it: `"1"`, or `{ version = "1", … }`.
fn inline(table: &toml::Table) -> String {
    match (table.len(), table.get("version")) {
        (1, Some(version)) => version.to_string(),
        _ => {
            let fields: Vec<String> = table
                .get_key_value("version")
                .into_iter()
                .chain(table.iter().filter(|(k, _)| *k != "version"))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

/// The registry dependencies the plugin template declares (its
/// `[dependencies]`, without the SDK, which is written beside it).
fn template_dependencies(template: &str) -> Vec<String> {
    let filled = template.replace("{{sdk}}", "").replace("{{name}}", "x");
    let parsed: toml::Table = filled.parse().expect("the template's Cargo.toml parses");
    parsed["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    dependencies: Vec<String>,
}

/// The SDK's package and every package it or the template's dependencies
/// reach in `Cargo.lock`, each as the text of its `[[package]]` entry,
/// sorted as cargo sorts them; and the generated crate's dependencies (the
/// SDK and the template's), as its own entry names them.
type Closure = (i64, Vec<(String, String)>, Vec<String>);

fn lock_closure(lock: &str, template_deps: &[String]) -> Closure {
    let lock: toml::Table = lock.parse().unwrap();
    let version = lock["version"].as_integer().unwrap();
    let packages: Vec<Package> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Package {
            name: p["name"].as_str().unwrap().into(),
            version: p["version"].as_str().unwrap().into(),
            source: p.get("source").and_then(|s| s.as_str()).map(Into::into),
            checksum: p.get("checksum").and_then(|s| s.as_str()).map(Into::into),
            dependencies: p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|d| d.iter().map(|x| x.as_str().unwrap().into()).collect())
                .unwrap_or_default(),
        })
        .collect();
    // "name", "name version" or "name version (source)", as the lock names a dependency.
    let find = |id: &str| -> usize {
        let mut parts = id.split(' ');
        let name = parts.next().unwrap();
        let version = parts.next();
        let candidates: Vec<usize> = (0..packages.len())
            .filter(|&i| {
                packages[i].name == name && version.is_none_or(|v| packages[i].version == v)
            })
            .collect();
        assert_eq!(candidates.len(), 1, "`{id}` in Cargo.lock");
        candidates[0]
    };
    let sdk = find("paycore-plugin-sdk");
    let mut roots = vec![sdk];
    for dep in template_deps {
        // The version the SDK uses, else the only one in the lock.
        let by_sdk = packages[sdk]
            .dependencies
            .iter()
            .find(|d| d.split(' ').next() == Some(dep.as_str()));
        roots.push(find(by_sdk.map_or(dep.as_str(), |d| d.as_str())));
    }
    let direct = roots.clone();
    let mut reached = BTreeSet::new();
    while let Some(i) = roots.pop() {
        if reached.insert(i) {
            roots.extend(packages[i].dependencies.iter().map(|d| find(d)));
        }
    }
    // A name needs its version only where two versions of it remain.
    let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &reached {
        *versions.entry(packages[i].name.as_str()).or_default() += 1;
    }
    let named = |i: usize| {
        let q = &packages[i];
        if versions[q.name.as_str()] > 1 {
            format!("{} {}", q.name, q.version)
        } else {
            q.name.clone()
        }
    };
    let mut root_deps: Vec<String> = direct.iter().map(|&i| named(i)).collect();
    root_deps.sort();
    let mut entries: Vec<(String, String, String)> = reached
        .iter()
        .map(|&i| {
            let p = &packages[i];
            let mut entry = format!(
                "[[package]]\nname = {:?}\nversion = {:?}\n",
                p.name, p.version
            );
            if let Some(source) = &p.source {
                writeln!(entry, "source = {source:?}").unwrap();
            }
            if let Some(checksum) = &p.checksum {
                writeln!(entry, "checksum = {checksum:?}").unwrap();
            }
            if !p.dependencies.is_empty() {
                let mut deps: Vec<String> = p.dependencies.iter().map(|d| named(find(d))).collect();
                deps.sort();
                entry.push_str("dependencies = [\n");
                for d in deps {
                    writeln!(entry, " {d:?},").unwrap();
                }
                entry.push_str("]\n");
            }
            (p.name.clone(), p.version.clone(), entry)
        })
        .collect();
    entries.sort_by(|a, b| (&a.0, semver_key(&a.1)).cmp(&(&b.0, semver_key(&b.1))));
    (
        version,
        entries.into_iter().map(|(name, _, e)| (name, e)).collect(),
        root_deps,
    )
}

/// Orders versions numerically ("0.9.0" before "0.10.0"), as cargo does.
fn semver_key(version: &str) -> (Vec<u64>, &str) {
    let (core, rest) = version
        .split_once(['-', '+'])
        .map_or((version, ""), |(c, _)| (c, &version[c.len()..]));
    (
        core.split('.').map(|n| n.parse().unwrap_or(0)).collect(),
        rest,
    )
}
