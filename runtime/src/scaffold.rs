//! `paycore plugin new`: a standalone plugin crate from the templates in
//! `runtime/templates/plugin/`, ready to build to `wasm32-wasip2`, test
//! natively and run through the conformance suite.
//!
//! The SDK dependency is a path when the crate is generated inside this
//! source tree (or `--sdk-path` names one), and the registry version
//! otherwise: a plugin made elsewhere must not depend on where paycore was
//! built.

use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../templates/plugin/Cargo.toml.in");
const LIB_RS: &str = include_str!("../templates/plugin/lib.rs.in");
const README: &str = include_str!("../templates/plugin/README.md.in");
const PROFILE: &str = include_str!("../templates/plugin/conformance.toml.in");
const GITIGNORE: &str = include_str!("../templates/plugin/gitignore.in");

/// Where the SDK comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// `paycore-plugin-sdk = "<version>"` from the registry.
    Version(String),
    /// A path dependency on an SDK checkout.
    Path(PathBuf),
}

/// The SDK of the source tree this binary was built from, if it is still
/// there.
fn source_tree_sdk() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugin-sdk")
        .canonicalize()
        .ok()
}

/// The dependency a crate generated in `dir` gets by default.
pub fn default_sdk(dir: &Path) -> Sdk {
    let version = Sdk::Version(env!("CARGO_PKG_VERSION").to_string());
    let (Some(sdk), Ok(dir)) = (source_tree_sdk(), absolute(dir)) else {
        return version;
    };
    let tree = sdk.parent().unwrap_or(&sdk);
    if dir.starts_with(tree) {
        Sdk::Path(relative(&dir, &sdk))
    } else {
        version
    }
}

/// Writes the crate `name` into `dir` (which must not exist or be empty)
/// and returns the files written, relative to `dir`.
pub fn generate(name: &str, dir: &Path, sdk: &Sdk) -> Result<Vec<String>, String> {
    check_name(name)?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{} exists and is not empty", dir.display()));
    }
    let dependency = match sdk {
        Sdk::Version(v) => format!("paycore-plugin-sdk = \"{v}\""),
        Sdk::Path(p) => format!("paycore-plugin-sdk = {{ path = \"{}\" }}", p.display()),
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            // Wallet names are letters and digits only.
            .replace("{{wallet}}", &name.replace('-', ""))
            .replace("{{sdk}}", &dependency)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("README.md", fill(README)),
        ("conformance.toml", fill(PROFILE)),
        (".gitignore", GITIGNORE.to_string()),
    ];
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    for (file, text) in &files {
        std::fs::write(dir.join(file), text)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(file).display()))?;
    }
    Ok(files.iter().map(|(f, _)| f.to_string()).collect())
}

/// Plugin names are crate names too: lower-case letters, digits and `-`,
/// starting with a letter.
fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}`: a plugin name is 1-64 of a-z, 0-9 and '-', starting with a letter"
        ))
    }
}

fn absolute(dir: &Path) -> std::io::Result<PathBuf> {
    // The folder may not exist yet: resolve its nearest existing ancestor.
    let mut existing = dir.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut path = if existing.as_os_str().is_empty() {
        std::env::current_dir()?
    } else {
        existing.canonicalize()?
    };
    path.extend(rest.iter().rev());
    Ok(path)
}

/// `to` as seen from `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for c in &to[common..] {
        path.push(c);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_crate_names() {
        assert!(check_name("acme-pay").is_ok());
        for bad in ["", "Acme", "9pay", "acme_pay", "acme pay"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inside_the_tree_the_sdk_is_a_relative_path_and_outside_a_version() {
        let sdk = source_tree_sdk().unwrap();
        let inside = sdk.parent().unwrap().join("plugins/acme-pay");
        assert_eq!(
            default_sdk(&inside),
            Sdk::Path(PathBuf::from("../../plugin-sdk"))
        );
        let outside = tempfile_dir();
        assert_eq!(
            default_sdk(&outside.join("acme-pay")),
            Sdk::Version(env!("CARGO_PKG_VERSION").into())
        );
    }

    #[test]
    fn the_crate_is_written_with_its_name_everywhere() {
        let dir = tempfile_dir().join("acme-pay");
        let files = generate("acme-pay", &dir, &Sdk::Version("0.1.0".into())).unwrap();
        assert_eq!(files.len(), 5);
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"acme-pay\""));
        assert!(cargo.contains("paycore-plugin-sdk = \"0.1.0\""));
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("Manifest::new(\"acme-pay\""));
        assert!(!lib.contains("{{"));
        assert!(generate("acme-pay", &dir, &Sdk::Version("0.1.0".into())).is_err());
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    /// A fresh folder under the system's temporary directory.
    fn tempfile_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("paycore-scaffold-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
