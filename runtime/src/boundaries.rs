//! The module boundaries ARCHITECTURE.md states, checked on the source:
//!
//! - the top-level modules of `src/` depend on each other one way (no
//!   import cycle), so each can be read knowing only what it imports;
//! - wasmtime and the WIT contract's generated types (`wit::…`) stay inside
//!   `plugin_host`, which converts them at its edge;
//! - response shapes built with `json!` stay inside `http`;
//! - no error is a bare `String` (`Result<_, String>`): errors are types
//!   naming their cases, so the edge (`http`, `cli`) chooses the status and
//!   code from what went wrong, not from a sentence;
//! - `store`, `payments`, `ledger` and `sweeper` never read the system
//!   clock: their behaviour depends on business time (expiries, leases,
//!   checks due, a card's validity), which they read from their `Clock`, so
//!   tests move time instead of sleeping.
//!
//! Only non-test code counts: an item under `#[cfg(test)]` and files named
//! `tests.rs` are skipped. A rule's list of exceptions may only shrink: a
//! listed file that no longer offends fails the check too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files (relative to `src/`) that may build JSON by hand outside `http`:
/// none. Webhook envelopes, event details and history entries are typed
/// structs (`payments::machine`, `payments::view`).
const JSON_OUTSIDE_HTTP: &[&str] = &[];

/// The modules whose behaviour is about business time: they read it from
/// the `Clock` they hold, never from the system.
const ON_BUSINESS_TIME: &[&str] = &["store", "payments", "ledger", "sweeper"];

struct Source {
    /// Relative to `src/`, with `/` separators.
    path: String,
    /// The top-level module the file belongs to (`payments` for
    /// `payments/settle.rs`); `None` for lib.rs and main.rs.
    module: Option<String>,
    /// The file's code without comments and test-only items, by line.
    code: Vec<(usize, String)>,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    files
        .into_iter()
        // This file is test code (declared under `#[cfg(test)]`) and names
        // what it looks for.
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n != "tests.rs" && n != "boundaries.rs")
        })
        .map(|file| {
            let path = file
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let module = match path.split_once('/') {
                Some((dir, _)) => Some(dir.to_string()),
                None if path == "lib.rs" || path == "main.rs" => None,
                None => Some(path.trim_end_matches(".rs").to_string()),
            };
            let text = std::fs::read_to_string(&file).expect("readable source");
            Source {
                path,
                module,
                code: without_tests(&text),
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` (1-based numbers) with `//` comments removed and
/// every item that follows `#[cfg(test)]` left out (up to its closing brace
/// or, for `mod tests;`, its semicolon).
fn without_tests(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skipping = false;
    let mut depth: i64 = 0;
    let mut opened = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if skipping {
            depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
            opened |= code.contains('{');
            if (opened && depth <= 0) || (!opened && code.contains(';')) {
                skipping = false;
            }
            continue;
        }
        if code.trim_start().starts_with("#[cfg(test)]") {
            skipping = true;
            depth = 0;
            opened = false;
            continue;
        }
        out.push((n + 1, code.to_string()));
    }
    out
}

/// `crate::NAME` paths in `code`.
fn crate_paths(code: &str) -> impl Iterator<Item = &str> {
    code.match_indices("crate::").filter_map(|(at, _)| {
        let rest = &code[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let before = code[..at].chars().next_back();
        // `paycore_crate::` or `$crate::` are something else.
        let own = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        (own && end > 0).then(|| &rest[..end])
    })
}

/// Module → the modules it imports, each with where it first does.
fn dependencies(sources: &[Source]) -> BTreeMap<String, BTreeMap<String, String>> {
    let modules: BTreeSet<&str> = sources.iter().filter_map(|s| s.module.as_deref()).collect();
    let mut deps: BTreeMap<String, BTreeMap<String, String>> = modules
        .iter()
        .map(|m| (m.to_string(), BTreeMap::new()))
        .collect();
    for source in sources {
        let Some(module) = &source.module else {
            continue;
        };
        for (line, code) in &source.code {
            for target in crate_paths(code) {
                if target != module && modules.contains(target) {
                    deps.get_mut(module)
                        .expect("every module has an entry")
                        .entry(target.to_string())
                        .or_insert_with(|| format!("src/{}:{line}", source.path));
                }
            }
        }
    }
    deps
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(deps: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        deps: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.deps[v].keys() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        deps,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in deps.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn top_level_modules_import_each_other_one_way() {
    let deps = dependencies(&sources());
    assert!(
        deps.get("payments")
            .is_some_and(|d| d.contains_key("store")),
        "the scan sees imports (payments uses store)"
    );
    let found = cycles(&deps);
    let report: Vec<String> = found
        .iter()
        .map(|component| {
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    deps[from]
                        .iter()
                        .filter(|(to, _)| component.contains(to))
                        .map(move |(to, at)| format!("  {from} -> {to} ({at})"))
                })
                .collect();
            format!("{}:\n{}", component.join(", "), edges.join("\n"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between top-level modules:\n{}",
        report.join("\n")
    );
}

/// Files outside `allowed_module` whose code matches `offends`, and the
/// first line of each.
fn offenders(
    sources: &[Source],
    allowed_module: &str,
    offends: impl Fn(&str) -> bool,
) -> BTreeMap<String, usize> {
    sources
        .iter()
        .filter(|s| s.module.as_deref() != Some(allowed_module))
        .filter_map(|s| {
            let (line, _) = s.code.iter().find(|(_, code)| offends(code))?;
            Some((s.path.clone(), *line))
        })
        .collect()
}

/// Files inside `modules` whose code matches `offends`, and the first line
/// of each.
fn offenders_within(
    sources: &[Source],
    modules: &[&str],
    offends: impl Fn(&str) -> bool,
) -> BTreeMap<String, usize> {
    sources
        .iter()
        .filter(|s| s.module.as_deref().is_some_and(|m| modules.contains(&m)))
        .filter_map(|s| {
            let (line, _) = s.code.iter().find(|(_, code)| offends(code))?;
            Some((s.path.clone(), *line))
        })
        .collect()
}

/// Fails on an offending file not in `known`, and on a file in `known`
/// that no longer offends.
fn only_the_known(rule: &str, found: &BTreeMap<String, usize>, known: &[&str]) {
    let new: Vec<String> = found
        .iter()
        .filter(|(path, _)| !known.contains(&path.as_str()))
        .map(|(path, line)| format!("src/{path}:{line}"))
        .collect();
    assert!(new.is_empty(), "{rule}:\n{}", new.join("\n"));
    let cleaned: Vec<&&str> = known
        .iter()
        .filter(|path| !found.contains_key(**path))
        .collect();
    assert!(
        cleaned.is_empty(),
        "{rule}: no longer true of {cleaned:?}; take them off the list in boundaries.rs"
    );
}

#[test]
fn wasmtime_and_generated_contract_types_stay_in_the_plugin_host() {
    let sources = sources();
    let found = offenders(&sources, "plugin_host", |code| {
        code.contains("wasmtime") || code.contains("wit::") || code.contains("plugin_host::wit")
    });
    only_the_known(
        "wasmtime or generated `wit::` types outside plugin_host",
        &found,
        &[],
    );
}

#[test]
fn json_shapes_are_built_only_at_the_http_edge() {
    let sources = sources();
    let found = offenders(&sources, "http", |code| code.contains("json!"));
    only_the_known("`json!` outside http", &found, JSON_OUTSIDE_HTTP);
}

/// Whether `code` reads the system's clock: `SystemTime::now()`, jiff's
/// `Timestamp::now()`, `OffsetDateTime::now_utc()`, or domain's
/// `now_millis()` / `now_rfc3339()` called as functions (a `Clock`'s
/// methods of those names are what to call instead).
fn reads_the_system_clock(code: &str) -> bool {
    let direct = [
        "SystemTime::now()",
        "Timestamp::now()",
        "OffsetDateTime::now_utc()",
    ];
    let domain = ["now_millis()", "now_rfc3339()"];
    direct.iter().any(|read| code.contains(read))
        || domain.iter().any(|read| {
            code.match_indices(read)
                .any(|(at, _)| !code[..at].ends_with('.'))
        })
}

#[test]
fn business_time_comes_from_the_clock() {
    let sources = sources();
    let found = offenders_within(&sources, ON_BUSINESS_TIME, reads_the_system_clock);
    only_the_known(
        "the system clock read in store, payments, ledger or sweeper; read the `Clock` \
         they hold (`self.clock`, `payments.clock()`, `store.clock()`), which tests can move",
        &found,
        &[],
    );
}

#[test]
fn system_clock_reads_are_found_and_a_clocks_are_not() {
    for read in [
        "let now = now_millis();",
        ".bind(now_rfc3339())",
        "let t = crate::domain::now_millis();",
        "let now = jiff::Timestamp::now();",
        "SystemTime::now()",
        "time::OffsetDateTime::now_utc().unix_timestamp()",
    ] {
        assert!(reads_the_system_clock(read), "{read}");
    }
    for read in [
        "let now = self.clock.now_millis();",
        ".bind($clock.now_rfc3339())",
        "payments.clock().now()",
        "let started = Instant::now();",
        "fn deadline(now: i64) -> i64 {",
    ] {
        assert!(!reads_the_system_clock(read), "{read}");
    }
}

/// Where `code` has a `Result<…, String>`: each `Result<` (not the end of
/// a longer name such as `StoreResult<`) whose last top-level type argument
/// is `String`, at the byte offset of its `Result`. Signatures spanning
/// lines are seen whole when `code` holds the lines joined.
fn string_errors(code: &str) -> Vec<usize> {
    let bytes = code.as_bytes();
    code.match_indices("Result<")
        .filter(|(at, _)| {
            !code[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .filter_map(|(at, open)| {
            let start = at + open.len();
            let mut depth = 0usize;
            let mut commas = Vec::new();
            for (i, &b) in bytes.iter().enumerate().skip(start) {
                match b {
                    b'<' | b'(' | b'[' => depth += 1,
                    // The arrow of a function type is no bracket.
                    b'>' if bytes[i - 1] == b'-' => {}
                    b'>' | b')' | b']' if depth == 0 => {
                        let mut args: Vec<&str> = std::iter::once(start)
                            .chain(commas.iter().map(|c| c + 1))
                            .zip(commas.iter().copied().chain([i]))
                            .map(|(from, to)| code[from..to].trim())
                            .collect();
                        // A trailing comma.
                        if args.last() == Some(&"") {
                            args.pop();
                        }
                        return matches!(args[..], [_, "String" | "std::string::String"])
                            .then_some(at);
                    }
                    b'>' | b')' | b']' => depth -= 1,
                    b',' if depth == 0 => commas.push(i),
                    // Not a type after all.
                    b';' | b'{' | b'}' => return None,
                    _ => {}
                }
            }
            None
        })
        .collect()
}

#[test]
fn no_error_is_a_bare_string() {
    let mut found = Vec::new();
    for source in sources() {
        let mut text = String::new();
        let mut starts = Vec::new();
        for (line, code) in &source.code {
            starts.push((text.len(), *line));
            text.push_str(code);
            text.push('\n');
        }
        for at in string_errors(&text) {
            let line = starts
                .iter()
                .rev()
                .find(|(start, _)| *start <= at)
                .map_or(0, |(_, line)| *line);
            found.push(format!("src/{}:{line}", source.path));
        }
    }
    assert!(
        found.is_empty(),
        "`Result<_, String>` outside tests; give the error a type naming its cases \
         (a `thiserror` enum) and choose status and code at the edge:\n{}",
        found.join("\n")
    );
}

#[test]
fn string_errors_are_found_across_lines_and_string_values_are_not() {
    let found = |code: &str| string_errors(code).len();
    assert_eq!(found("fn f() -> Result<(), String> {"), 1);
    assert_eq!(
        found("fn f(\n) -> Result<\n    (String, u8),\n    String,\n> {"),
        1
    );
    assert_eq!(found(".collect::<Result<Vec<_>, String>>()?;"), 1);
    assert_eq!(found("x: std::result::Result<u8, std::string::String>,"), 1);
    assert_eq!(
        found("fn f() -> Result<BTreeMap<String, String>, Error> {"),
        0
    );
    assert_eq!(found("fn f() -> Result<(String, String), Error> {"), 0);
    assert_eq!(found("fn f() -> Result<Box<dyn Fn(u8) -> String>, E> {"), 0);
    assert_eq!(found("fn f() -> anyhow::Result<String> {"), 0);
    assert_eq!(found("fn f() -> StoreResult<String> {"), 0);
    assert_eq!(found("fn f() -> Result<String, Vec<String>> {"), 0);
}

#[test]
fn test_code_is_left_out_of_the_scan() {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n    fn f() { crate::c(); }\n}\nuse crate::d; // crate::e\n#[cfg(test)]\nmod more;\nuse crate::f;\n";
    let code = without_tests(text);
    let kept: Vec<&str> = code
        .iter()
        .flat_map(|(_, code)| crate_paths(code).collect::<Vec<_>>())
        .collect();
    assert_eq!(kept, ["a", "d", "f"]);
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let deps = |edges: &[(&str, &str)]| {
        let mut d: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (a, b) in edges {
            d.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), String::new());
            d.entry(b.to_string()).or_default();
        }
        d
    };
    assert!(cycles(&deps(&[("a", "b"), ("b", "c")])).is_empty());
    assert_eq!(
        cycles(&deps(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
        [vec!["a".to_string(), "b".into(), "c".into()]]
    );
}
