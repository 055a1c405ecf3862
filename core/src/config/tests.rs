//! Loading whole configs from files: the server file, tenants, published
//! tenants, overrides, and every problem reported at its place.

use super::channel::parse_plugin_ref;
use super::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paycore-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    dir
}

const TENANT: &str = r#"
id = "t1"
api_keys = ["sk_test_t1_key"]
[[channels]]
id = "sbx"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = { merchant_id = "m1" }
secrets = { api_key = "inline:k" }
"#;

#[test]
fn a_valid_config_loads() {
    let dir = scratch("valid");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
    write(&dir, "tenants/t1.toml", TENANT);
    let cfg = load(&file, &Overrides::default()).unwrap();
    assert_eq!(cfg.tenants.len(), 1);
    let ch = &cfg.tenants[0].channels[0];
    assert_eq!(ch.plugin_name, "sandbox");
    assert!(ch.plugin_req.matches(&semver::Version::new(1, 4, 0)));
    assert!(!ch.plugin_req.matches(&semver::Version::new(2, 0, 0)));
    assert_eq!(ch.secrets["api_key"].expose(), b"k");
}

#[test]
fn unknown_keys_and_wrong_types_name_file_line_and_column() {
    let dir = scratch("bad");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
    write(
        &dir,
        "tenants/a.toml",
        "id = \"a\"\napi_keys = [\"sk_test_aaaa\"]\ncolour = 1\n",
    );
    write(
        &dir,
        "tenants/b.toml",
        "id = \"b\"\napi_keys = \"sk_test_bbbb\"\n",
    );
    let errs = load(&file, &Overrides::default()).unwrap_err().to_string();
    assert!(
        errs.contains("a.toml:3:1: unknown field `colour`"),
        "{errs}"
    );
    assert!(errs.contains("b.toml:2:12:"), "{errs}");
}

#[test]
fn validation_collects_every_problem() {
    let dir = scratch("many");
    let file = write(
        &dir,
        "paycore.toml",
        "listen = \"nowhere\"\n[plugin_limits]\nmemory_mib = 0\n",
    );
    let errs = load(&file, &Overrides::default()).unwrap_err();
    let text = errs.to_string();
    assert!(text.contains("paycore.toml:1:10:"), "{text}");
    assert!(
        text.contains("paycore.toml:3:14: must be between 1 and 4096"),
        "{text}"
    );
    assert_eq!(errs.0.len(), 2);
}

#[test]
fn a_broken_server_file_does_not_hide_the_tenants_problems() {
    let dir = scratch("server-and-tenants");
    let file = write(
        &dir,
        "paycore.toml",
        "listen = \"nowhere\"\nlistn = 1\n[sandbox_provider]\nprocessing_delay_ms = 18446744073709551615\n",
    );
    write(
        &dir,
        "tenants/t.toml",
        "id = \"t\"\napi_keys = [\"sk_test_every_problem\"]\ncolour = \"red\"\nwebhook_secret = \"inline:\"\n[limits]\nrequests_per_second = 0\nmax_concurrent_requests = \"many\"\n",
    );
    let partial = load_partial(&file, &Overrides::default(), TenantSources::default());
    let text = partial.errors.to_string();
    for expected in [
        "paycore.toml:1:10: `nowhere` is not an address",
        "paycore.toml:2:1: unknown field `listn`",
        "paycore.toml:4:23: must be between 0 and 3600000",
        "t.toml:3:1: unknown field `colour`",
        "t.toml:4:18: the webhook secret is empty",
        "t.toml:6:23: must be between 1 and 1000000",
        "t.toml:7:27: invalid type: string \"many\", expected u64",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    assert_eq!(partial.errors.0.len(), 7, "{text}");
    // The tenant's file had broken keys: it is checked, never bound.
    assert!(partial.config.unwrap().tenants.is_empty());
}

#[test]
fn a_key_of_the_wrong_type_is_not_also_reported_missing() {
    let source = "id = \"t\"\napi_keys = [\"sk_test_taken_out\"]\n[limits]\nrequests_per_second = \"ten\"\nburst = 20\n";
    let errors = tenant_from_str(Path::new("t.toml"), source).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "t.toml:4:23: invalid type: string \"ten\", expected u64"
    );
    let without = source.replace("requests_per_second = \"ten\"\n", "");
    let errors = tenant_from_str(Path::new("t.toml"), &without).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "t.toml:4:9: `burst` needs `requests_per_second`"
    );
}

#[test]
fn channels_that_validated_are_kept_for_binding_checks() {
    let dir = scratch("partial");
    let file = write(&dir, "paycore.toml", "");
    write(
        &dir,
        "tenants/t1.toml",
        &format!(
            "webhook_secret = \"inline:short\"\n{TENANT}[[channels]]\nid = \"other\"\nplugin = \"sandbox@^1\"\nsecrets = {{ api_key = \"inline:\" }}\n"
        ),
    );
    let partial = load_partial(&file, &Overrides::default(), TenantSources::default());
    assert_eq!(partial.errors.0.len(), 2, "{}", partial.errors);
    let tenants = partial.into_result().unwrap_err().1;
    let ids: Vec<&str> = tenants[0].channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["sbx"]);
}

#[test]
fn tenants_may_not_share_ids_or_keys() {
    let dir = scratch("dupes");
    let file = write(&dir, "paycore.toml", "");
    write(
        &dir,
        "tenants/a.toml",
        "id = \"same\"\napi_keys = [\"sk_test_shared\"]\n",
    );
    write(
        &dir,
        "tenants/b.toml",
        "id = \"same\"\napi_keys = [\"sk_test_shared\"]\n",
    );
    let text = load(&file, &Overrides::default()).unwrap_err().to_string();
    assert!(
        text.contains("b.toml:1:6: tenant `same` is also defined in"),
        "{text}"
    );
    assert!(text.contains("already used by tenant `same`"), "{text}");
    assert!(
        !text.contains("sk_test_shared"),
        "errors never echo keys: {text}"
    );
}

#[test]
fn retry_and_backoff_schedules_have_defaults_and_bounds() {
    let dir = scratch("schedules");
    let file = write(&dir, "paycore.toml", "");
    let cfg = load(&file, &Overrides::default()).unwrap().server;
    let secs: Vec<u64> = cfg
        .webhooks
        .retry_schedule
        .iter()
        .map(|d| d.as_secs())
        .collect();
    assert_eq!(secs, [15, 60, 300, 1800, 7200, 21600, 86400]);
    assert_eq!(cfg.webhooks.jitter_percent, 10);
    assert_eq!(cfg.sweeper.barcode_deadline, Duration::from_secs(60));
    assert_eq!(cfg.sweeper.backoff.len(), DEFAULT_SWEEPER_BACKOFF_MS.len());

    let file = write(
        &dir,
        "paycore.toml",
        "[webhooks]\nretry_schedule_ms = [100, 200]\njitter_percent = 0\n[sweeper]\nbackoff_ms = [50]\nbarcode_deadline_ms = 1500\n",
    );
    let cfg = load(&file, &Overrides::default()).unwrap().server;
    assert_eq!(
        cfg.webhooks.retry_schedule,
        [Duration::from_millis(100), Duration::from_millis(200)]
    );
    assert_eq!(cfg.sweeper.backoff, [Duration::from_millis(50)]);
    assert_eq!(cfg.sweeper.barcode_deadline, Duration::from_millis(1500));

    let file = write(
        &dir,
        "paycore.toml",
        "[webhooks]\nretry_schedule_ms = []\njitter_percent = 90\n[sweeper]\nbackoff_ms = [50, 1]\n",
    );
    let text = load(&file, &Overrides::default()).unwrap_err().to_string();
    assert!(
        text.contains("paycore.toml:2:21: must list between 1 and 32 delays"),
        "{text}"
    );
    assert!(
        text.contains("paycore.toml:3:18: must be between 0 and 50"),
        "{text}"
    );
    assert!(
        text.contains("paycore.toml:5:19: must be between 10 and 86400000"),
        "{text}"
    );
}

/// Every range `docs/configuration.md` gives for a number is the one
/// enforced: one past each end is refused, saying the range.
#[test]
fn the_documented_ranges_are_enforced() {
    let doc = include_str!("../../../docs/configuration.md");
    let dir = scratch("documented-ranges");
    let mut server_file = true;
    let mut checked = 0;
    for line in doc.lines() {
        if line.starts_with("### `tenants/") {
            server_file = false;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(key), Some(range)) = (cells.get(1), cells.get(3)) else {
            continue;
        };
        let Some((min, max)) = range.split_once(" – ") else {
            continue;
        };
        let (Ok(min), Ok(max)) = (min.parse::<u64>(), max.parse::<u64>()) else {
            continue;
        };
        let key = key.replace('`', "");
        if key.starts_with("[[") {
            continue; // checked with their own words elsewhere
        }
        let (key, each) = match key.strip_suffix(" (each)") {
            Some(k) => (k.to_string(), true),
            None => (key, false),
        };
        let (table, name) = match key.split_once("] ") {
            Some((t, n)) => (Some(t.trim_start_matches('[')), n),
            None => (None, key.as_str()),
        };
        let outside = [min.checked_sub(1), max.checked_add(1)];
        for value in outside.into_iter().flatten() {
            let value = if each {
                format!("[{value}]")
            } else {
                value.to_string()
            };
            let mut text = table.map_or(String::new(), |t| format!("[{t}]\n"));
            if name == "burst" {
                text.push_str("requests_per_second = 1\n");
            }
            text.push_str(&format!("{name} = {value}\n"));
            let file = if server_file {
                write(&dir, "paycore.toml", &text)
            } else {
                write(
                    &dir,
                    "tenants/t.toml",
                    &format!("id = \"t\"\napi_keys = [\"sk_test_ranges\"]\n{text}"),
                );
                write(&dir, "paycore.toml", "")
            };
            let errors = load(&file, &Overrides::default()).unwrap_err().to_string();
            assert!(
                errors.contains(&format!("must be between {min} and {max}")),
                "{key} = {value}: {errors}"
            );
            let _ = std::fs::remove_file(dir.join("tenants/t.toml"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} documented ranges found");
}

#[test]
fn plugin_references_are_checked() {
    assert!(parse_plugin_ref("alipay@^1.2").is_ok());
    assert!(parse_plugin_ref("alipay").is_ok());
    assert!(parse_plugin_ref("Ali Pay@1").is_err());
    assert!(parse_plugin_ref("alipay@banana").is_err());
}

#[test]
fn the_database_is_sqlite_or_postgres() {
    let dir = scratch("database");
    let file = write(
        &dir,
        "paycore.toml",
        "database_url = \"postgres://paycore:pw@db/paycore\"\ndatabase_max_connections = 24\n",
    );
    let cfg = load(&file, &Overrides::default()).unwrap().server;
    assert_eq!(cfg.database_url, "postgres://paycore:pw@db/paycore");
    assert_eq!(cfg.database_max_connections, Some(24));
    let file = write(
        &dir,
        "paycore.toml",
        "database_url = \"mysql://db/paycore\"\ndatabase_max_connections = 0\n",
    );
    let text = load(&file, &Overrides::default()).unwrap_err().to_string();
    assert!(
        text.contains("must be a sqlite://… or postgres://… URL"),
        "{text}"
    );
    assert!(text.contains("must be between 1 and 1000"), "{text}");
}

#[test]
fn overrides_win_over_the_file() {
    let dir = scratch("overrides");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:1\"\n");
    let o = Overrides {
        listen: Some("127.0.0.1:2".into()),
        database_url: Some("sqlite::memory:".into()),
    };
    let cfg = load(&file, &o).unwrap();
    assert_eq!(cfg.server.listen.port(), 2);
    assert_eq!(cfg.server.database_url, "sqlite::memory:");
}

fn published(id: &str, revision: u32, source: &str) -> PublishedTenant {
    PublishedTenant {
        tenant_id: id.into(),
        origin: format!("published:{id}@r{revision}"),
        source: source.into(),
    }
}

fn with_published(file: &Path, published: &[PublishedTenant]) -> Result<Config, ConfigErrors> {
    let sources = TenantSources {
        published,
        resolve_secrets: true,
    };
    load_with(file, &Overrides::default(), sources)
}

const PUBLISHED_TENANT: &str = r#"
id = "p1"
api_keys = ["sk_test_p1_key"]
[[channels]]
id = "sbx"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
secrets = { api_key = "env:PAYCORE_TEST_PUBLISHED_KEY" }
"#;

#[test]
fn published_tenants_serve_beside_the_folder() {
    let dir = scratch("published");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
    write(&dir, "tenants/t1.toml", TENANT);
    // SAFETY: set once, read by this test only; no other thread reads it.
    unsafe { std::env::set_var("PAYCORE_TEST_PUBLISHED_KEY", "from-env") };
    let cfg = with_published(&file, &[published("p1", 2, PUBLISHED_TENANT)]).unwrap();
    let ids: Vec<&str> = cfg.tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["t1", "p1"]);
    let p1 = &cfg.tenants[1];
    assert_eq!(p1.source, Path::new("published:p1@r2"));
    assert_eq!(p1.channels[0].secrets["api_key"].expose(), b"from-env");
}

#[test]
fn a_published_tenant_may_not_shadow_a_file_or_hold_inline_secrets() {
    let dir = scratch("published-bad");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
    write(&dir, "tenants/t1.toml", TENANT);
    // The same id as the folder's t1, a key of t1's, and an inline secret.
    let errs = with_published(&file, &[published("t1", 4, TENANT)])
        .unwrap_err()
        .to_string();
    assert!(
        errs.contains("published:t1@r4:2:6: tenant `t1` is also defined in")
            && errs.contains("t1.toml; a tenant lives in one place"),
        "{errs}"
    );
    assert!(
        errs.contains("published:t1@r4:3:13: this API key is already used by tenant `t1`"),
        "{errs}"
    );
    assert!(
        errs.contains("published:t1@r4:9:23: a published config cannot hold a secret inline"),
        "{errs}"
    );
    // Stored under one id, declaring another: refused, naming both.
    let errs = with_published(&file, &[published("other", 1, PUBLISHED_TENANT)])
        .unwrap_err()
        .to_string();
    assert!(
        errs.contains("published as tenant `other` but its id is `p1`"),
        "{errs}"
    );
}

#[test]
fn publishing_checks_secret_references_without_reading_them() {
    let dir = scratch("published-form");
    let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
    let source = PUBLISHED_TENANT.replace("PAYCORE_TEST_PUBLISHED_KEY", "PAYCORE_UNSET_VAR_X");
    let unresolved = TenantSources {
        published: &[published("p1", 1, &source)],
        resolve_secrets: false,
    };
    assert!(load_with(&file, &Overrides::default(), unresolved).is_ok());
    let bad = source.replace("env:PAYCORE_UNSET_VAR_X", "plain-text-key");
    let errs = load_with(
        &file,
        &Overrides::default(),
        TenantSources {
            published: &[published("p1", 1, &bad)],
            resolve_secrets: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        errs.contains("published:p1@r1:8:23: a secret must be a reference"),
        "{errs}"
    );
    assert!(!errs.contains("plain-text-key"), "{errs}");
}

#[test]
fn several_admin_tokens_are_accepted_while_rotating() {
    let dir = scratch("admin-rotation");
    let old = super::api_keys::reference("adm_old_token");
    let file = write(
        &dir,
        "paycore.toml",
        &format!("admin_token = [\"inline:adm_new_token\", \"inline:{old}\"]\n"),
    );
    let cfg = load(&file, &Overrides::default()).unwrap();
    let tokens: Vec<&[u8]> = cfg.server.admin_tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(tokens, [b"adm_new_token".as_slice(), old.as_bytes()]);
    let one = write(
        &dir,
        "paycore.toml",
        "admin_token = \"env:PAYCORE_SURELY_UNSET_TOKEN\"\n",
    );
    let errs = load(&one, &Overrides::default()).unwrap_err().to_string();
    assert!(
        errs.contains("paycore.toml:1:15:") && errs.contains("PAYCORE_SURELY_UNSET_TOKEN"),
        "{errs}"
    );
}

#[test]
fn combined_refunds_go_to_the_wallet_first_unless_the_tenant_says_card() {
    let tenant = |extra: &str| {
        tenant_from_str(
            Path::new("t.toml"),
            &format!("id = \"t\"\napi_keys = [\"sk_test_refunds\"]\n{extra}"),
        )
    };
    assert_eq!(
        tenant("").unwrap().combined_refunds_first,
        RefundsFirst::External
    );
    assert_eq!(
        tenant("combined_refunds_first = \"card\"\n")
            .unwrap()
            .combined_refunds_first,
        RefundsFirst::Card
    );
    assert_eq!(
        tenant("combined_refunds_first = \"coupon\"\n")
            .unwrap_err()
            .to_string(),
        "t.toml:3:26: `combined_refunds_first` is \"external\" or \"card\", not \"coupon\""
    );
}
