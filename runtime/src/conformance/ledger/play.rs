//! A profile's `[ledger]` section: the card programmes the conformance
//! tenant runs on the plugin under test (written as a tenant file's
//! `[[card_programs]]` and checked by the same parser), the programme whose
//! cards the suite issues, and the amounts it pays and refunds.

use crate::config::{ConfigError, TenantConfig};
use crate::domain::ProgramKind;
use crate::ledger::{Program, ProgramUnits};
use paycore_plugin_sdk::money;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// The tenant and channel the suite calls the plugin as.
pub(in crate::conformance) const TENANT: &str = "conformance";
pub(in crate::conformance) const CHANNEL: &str = "conformance";

/// `[ledger]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// As in a tenant file, without `channel`: they run on the plugin under
    /// test.
    card_programs: Vec<Spanned<toml::Table>>,
    /// The programme whose cards the suite issues; the first if absent.
    program: Option<String>,
    /// Each card's first value, given by the tenant's promotion, in major
    /// units ("100.00"). A punch card gets its programme's uses instead.
    card_value: Option<String>,
    /// The cards' holder, which named programmes need.
    holder: Option<String>,
    /// Each payment's amount, in major units.
    pay: String,
    /// The refund's amount; the whole payment if absent.
    refund: Option<String>,
}

/// `[ledger]` checked: what the suite issues and plays.
#[derive(Debug, Clone)]
pub struct Play {
    /// The conformance tenant, whose only channel is the plugin's.
    pub tenant: TenantConfig,
    pub program: Program,
    /// Minor units the suite issues each card with; `None` for a punch card.
    pub card_value: Option<i64>,
    pub holder: Option<String>,
    /// Minor units of the programme's currency.
    pub pay: i64,
    pub refund: i64,
}

impl Play {
    /// The programmes' problems, each placed at its `[[ledger.card_programs]]`
    /// entry in `profile` (the text at `path`), or the section's own.
    pub fn check(section: Section, path: &Path, profile: &str) -> Result<Play, Vec<String>> {
        let tenant = tenant(&section, path, profile)?;
        let placed = |problems: Vec<String>| {
            problems
                .into_iter()
                .map(|p| format!("{}: [ledger] {p}", path.display()))
                .collect::<Vec<_>>()
        };
        let wanted = section.program.as_deref();
        let program = match wanted {
            Some(id) => tenant.card_programs.iter().find(|p| p.id.as_str() == id),
            None => tenant.card_programs.first(),
        }
        .cloned()
        .ok_or_else(|| {
            placed(vec![match wanted {
                Some(id) => format!("program `{id}` is not one of its card_programs"),
                None => "needs at least one [[ledger.card_programs]]".into(),
            }])
        })?;
        amounts(&section, program, tenant).map_err(placed)
    }

    /// What one payment takes off a card: its amount, or a punch card's uses.
    pub fn units(&self, amount: i64) -> i64 {
        self.program.units_for(amount)
    }

    /// What the refund gives back to the card: its amount, or, a punch
    /// card's uses coming back only whole, every use the payment took.
    pub fn refund_units(&self) -> i64 {
        match self.program.service() {
            Some(_) => self.units(self.pay),
            None => self.refund,
        }
    }

    pub fn currency(&self) -> &str {
        self.program.currency.as_str()
    }
}

/// The programmes in a tenant document of their own, through the tenant
/// file's parser.
fn tenant(section: &Section, path: &Path, profile: &str) -> Result<TenantConfig, Vec<String>> {
    let mut problems = Vec::new();
    let mut programs = Vec::new();
    for entry in &section.card_programs {
        let mut program = entry.get_ref().clone();
        if program.contains_key("channel") {
            problems.push(at(
                path,
                profile,
                entry,
                "leave out `channel`: the suite runs its programmes on the plugin under test",
            ));
        }
        // Read on with the suite's channel, so the entry's other
        // problems are reported too.
        program.insert("channel".into(), CHANNEL.into());
        programs.push(toml::Value::Table(program));
    }
    let mut document = toml::Table::new();
    document.insert("id".into(), TENANT.into());
    document.insert("name".into(), "conformance suite".into());
    // Required of a tenant; no request is ever authenticated with it.
    let no_key = format!("sha256:{}", "0".repeat(64));
    document.insert("api_keys".into(), vec![toml::Value::from(no_key)].into());
    let mut channel = toml::Table::new();
    channel.insert("id".into(), CHANNEL.into());
    channel.insert("plugin".into(), format!("{CHANNEL}@*").into());
    document.insert("channels".into(), vec![toml::Value::Table(channel)].into());
    document.insert("card_programs".into(), programs.into());
    let text = toml::to_string(&document).expect("a TOML table serializes");
    let parsed = crate::config::tenant_from_str(path, &text);
    if let Err(errors) = &parsed {
        problems.extend(errors.0.iter().map(|e| {
            match entry_of(&text, e).and_then(|i| section.card_programs.get(i)) {
                Some(entry) => at(path, profile, entry, &e.message),
                None => format!("{}: [ledger]: {}", path.display(), e.message),
            }
        }));
    }
    match parsed {
        Ok(tenant) if problems.is_empty() => Ok(tenant),
        _ => Err(problems),
    }
}

/// Which `[[card_programs]]` of the generated document an error is in.
fn entry_of(document: &str, error: &ConfigError) -> Option<usize> {
    let (line, _) = error.position?;
    document
        .lines()
        .take(line)
        .filter(|l| l.trim() == "[[card_programs]]")
        .count()
        .checked_sub(1)
}

/// `path:line:column: [[ledger.card_programs]] `id`: message`, at the entry.
fn at(path: &Path, profile: &str, entry: &Spanned<toml::Table>, message: &str) -> String {
    let before = &profile[..entry.span().start.min(profile.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    let id = entry
        .get_ref()
        .get("id")
        .and_then(toml::Value::as_str)
        .map(|id| format!(" `{id}`"))
        .unwrap_or_default();
    format!(
        "{}:{line}:{column}: [[ledger.card_programs]]{id}: {message}",
        path.display()
    )
}

/// The section's amounts in the programme's minor units, fitting what it
/// plays: a card that covers a payment, a refund within the payment.
fn amounts(section: &Section, program: Program, tenant: TenantConfig) -> Result<Play, Vec<String>> {
    let currency = program.currency.as_str();
    let minor = |key: &str, text: &str| match money::parse_major(text, currency) {
        Ok(amount) if amount > 0 => Ok(amount),
        Ok(_) => Err(format!("`{key}` must be above zero")),
        Err(e) => Err(format!("`{key}` `{text}` in {currency}: {e}")),
    };
    let pay = minor("pay", &section.pay).map_err(|e| vec![e])?;
    let refund = match &section.refund {
        Some(text) => minor("refund", text).map_err(|e| vec![e])?,
        None => pay,
    };
    let mut problems = Vec::new();
    if refund > pay {
        problems.push("the refund must be at most the payment".to_string());
    }
    let card_value = match (program.kind, &section.card_value) {
        (ProgramKind::Coupon, _) => {
            problems.push(format!(
                "program `{}` is a coupon programme: the suite plays cards the card API issues",
                program.id
            ));
            None
        }
        (ProgramKind::Punch, Some(_)) => {
            problems.push(
                "a punch card starts with its programme's uses: leave out `card_value`".into(),
            );
            None
        }
        (ProgramKind::Punch, None) => None,
        (_, Some(text)) => minor("card_value", text).map_err(|e| problems.push(e)).ok(),
        (kind, None) => {
            problems.push(format!("a {kind} card needs its `card_value`"));
            None
        }
    };
    // Uses come back only with the whole payment.
    if program.kind == ProgramKind::Punch && refund != pay {
        problems.push("a punch card is refunded only whole: leave out `refund`".into());
    }
    let fits = match (card_value, program.uses) {
        (Some(value), _) if program.partial_use => pay <= value,
        // Used once, in full.
        (Some(value), _) => pay == value,
        (None, Some(uses)) => program.units_for(pay) <= i64::from(uses),
        (None, None) => true,
    };
    if !fits {
        problems.push(format!(
            "`pay` {} does not fit a card of `{}`: it must cover the payment{}",
            section.pay,
            program.id,
            if program.partial_use {
                ""
            } else {
                ", which uses the card in full"
            }
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Play {
        tenant,
        program,
        card_value,
        holder: section.holder.clone(),
        pay,
        refund,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(text: &str) -> Result<Play, Vec<String>> {
        #[derive(Deserialize)]
        struct Profile {
            ledger: Section,
        }
        let profile: Profile = toml::from_str(text).unwrap();
        Play::check(profile.ledger, Path::new("p.toml"), text)
    }

    const MEMBER: &str = r#"
[ledger]
card_value = "100.00"
holder = "m"
pay = "30.00"
refund = "10.00"

[[ledger.card_programs]]
id = "member"
kind = "stored_value"
currency = "CNY"
"#;

    #[test]
    fn programmes_are_read_as_a_tenant_files_and_amounts_in_minor_units() {
        let play = play(MEMBER).unwrap();
        assert_eq!(play.program.id.as_str(), "member");
        assert_eq!(play.program.channel, CHANNEL);
        assert_eq!(
            (play.card_value, play.pay, play.refund),
            (Some(10_000), 3_000, 1_000)
        );
        assert_eq!(play.refund_units(), 1_000);
    }

    #[test]
    fn a_programmes_problems_are_placed_at_its_entry() {
        let text = format!(
            "{MEMBER}\n[[ledger.card_programs]]\nid = \"gift\"\nkind = \"gift\"\ncurrency = \"CNY\"\nchannel = \"card\"\n\n[[ledger.card_programs]]\nid = \"odd\"\nkind = \"bogus\"\ncurrency = \"CNY\"\n"
        );
        let problems = play(&text).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0]
                .starts_with("p.toml:13:1: [[ledger.card_programs]] `gift`: leave out `channel`"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("p.toml:19:1: [[ledger.card_programs]] `odd`: "),
            "{problems:#?}"
        );
        let text = text.replace("channel = \"card\"\n", "");
        let problems = play(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].starts_with("p.toml:18:1: [[ledger.card_programs]] `odd`: "),
            "{problems:#?}"
        );
        assert!(problems[0].contains("bogus"), "{problems:#?}");
    }

    #[test]
    fn amounts_must_fit_what_is_played() {
        let over = MEMBER.replace("refund = \"10.00\"", "refund = \"40.00\"");
        assert_eq!(
            play(&over).unwrap_err(),
            ["p.toml: [ledger] the refund must be at most the payment"]
        );
        let short = MEMBER.replace("card_value = \"100.00\"", "card_value = \"20.00\"");
        assert!(play(&short).unwrap_err()[0].contains("does not fit a card of `member`"));
        let odd = MEMBER.replace("pay = \"30.00\"", "pay = \"30.001\"");
        assert!(play(&odd).unwrap_err()[0].starts_with("p.toml: [ledger] `pay` `30.001` in CNY"));
    }
}
