//! The contract reference in `README.md` is generated from the WIT: the
//! test `the_readme_reference_matches_the_wit` fails when they drift, and
//! `PAYCORE_UPDATE_REFERENCE=1 cargo test -p paycore-plugin-sdk reference`
//! rewrites the README's block between the markers.

/// Markdown for every interface, type, field, case and function of the
/// WIT package, each with its doc comment.
pub fn from_wit(wit: &str) -> String {
    let mut out = String::new();
    let mut doc: Vec<String> = Vec::new();
    let mut depth = 0;
    for raw in wit.lines() {
        let line = raw.trim();
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim().to_string());
            continue;
        }
        let said = doc.join(" ");
        let gloss = if said.is_empty() {
            String::new()
        } else {
            format!(" — {said}")
        };
        doc.clear();
        if line.is_empty() || line.starts_with("//") || line.starts_with("use ") {
            continue;
        }
        if line.starts_with('}') {
            depth -= 1;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match (depth, words.first().copied()) {
            (0, Some("package")) => {
                out.push_str(&format!(
                    "Package `{}`\n",
                    line.trim_end_matches(';').trim_start_matches("package ")
                ));
            }
            (0, Some(kind @ ("interface" | "world"))) => {
                out.push_str(&format!("\n#### {kind} `{}`{gloss}\n\n", words[1]));
                depth += 1;
            }
            (1, Some(kind @ ("record" | "variant" | "enum"))) => {
                let name = words[1].trim_end_matches('{');
                if let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) {
                    // A one-line enum: its cases inline.
                    let cases: Vec<String> = line[open + 1..close]
                        .split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| format!("`{c}`"))
                        .collect();
                    out.push_str(&format!("- {kind} `{name}`: {}{gloss}\n", cases.join(", ")));
                } else {
                    out.push_str(&format!("- {kind} `{name}`{gloss}\n"));
                    depth += 1;
                }
            }
            (1, _) => {
                // A function, or an import/export of a world.
                out.push_str(&format!("- `{}`{gloss}\n", line.trim_end_matches(';')));
            }
            (2, _) => {
                out.push_str(&format!("  - `{}`{gloss}\n", line.trim_end_matches(',')));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    const BEGIN: &str = "<!-- reference: generated from wit/v1.1.0/channel.wit -->\n";
    const END: &str = "<!-- end of reference -->";

    #[test]
    fn the_readme_reference_matches_the_wit() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let wit = std::fs::read_to_string(root.join("wit/v1.1.0/channel.wit")).unwrap();
        let generated = super::from_wit(&wit);
        let path = root.join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme
            .find(BEGIN)
            .expect("README.md has the reference markers")
            + BEGIN.len();
        let end = readme.find(END).expect("README.md has the end marker");
        if std::env::var_os("PAYCORE_UPDATE_REFERENCE").is_some() {
            let updated = format!("{}{generated}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            readme[start..end] == generated,
            "plugin-sdk/README.md's contract reference differs from the WIT: run \
             `PAYCORE_UPDATE_REFERENCE=1 cargo test -p paycore-plugin-sdk reference` and review"
        );
    }

    #[test]
    fn every_function_and_type_is_listed() {
        let wit = include_str!("../wit/v1.1.0/channel.wit");
        let reference = super::from_wit(wit);
        for needle in [
            "`pay: func(ctx: call-context, request: pay-request) -> result<payment-result, channel-error>`",
            "- variant `channel-error`",
            "  - `outcome-unknown(failure)`",
            "- enum `scene`: `barcode`, `qrcode`, `jsapi`, `app`, `h5`, `web`, `face` — How the payer pays",
            "#### interface `http`",
            "#### interface `settings`",
            "- `describe: func() -> list<setting-spec>`",
            "  - `hosts: list<string>` — Hosts (\"host\" or \"host:port\") the plugin calls. The operator must grant each one",
        ] {
            assert!(
                reference.contains(needle),
                "missing {needle:?} in\n{reference}"
            );
        }
    }
}
