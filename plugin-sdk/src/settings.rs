//! Describing a channel's settings (contract 1.1): what each one is, so that
//! paycore checks tenants' values when it reads their config and reports a
//! bad one where it is written, instead of the first payment failing.

pub use crate::__bindings::exports::paycore::channel::settings::{
    IntegerRange, Presence, SettingKind, SettingSpec, TextBounds,
};

impl SettingSpec {
    /// A required setting of any text.
    pub fn text(name: &str, description: &str) -> Self {
        Self::of(
            name,
            description,
            SettingKind::Text(TextBounds {
                max_length: None,
                pattern: None,
            }),
        )
    }

    /// A required absolute `http://` or `https://` URL.
    pub fn url(name: &str, description: &str) -> Self {
        Self::of(name, description, SettingKind::Url)
    }

    /// A required setting that must be exactly one of `values`.
    pub fn one_of(name: &str, description: &str, values: &[&str]) -> Self {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        Self::of(name, description, SettingKind::OneOf(values))
    }

    /// A required whole number within `min..=max` (either end open).
    pub fn integer(name: &str, description: &str, min: Option<i64>, max: Option<i64>) -> Self {
        Self::of(
            name,
            description,
            SettingKind::Integer(IntegerRange { min, max }),
        )
    }

    fn of(name: &str, description: &str, kind: SettingKind) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            kind,
            presence: Presence::Required,
        }
    }

    /// At most `max` characters; for a text setting (other kinds ignore it).
    pub fn with_max_length(mut self, max: u32) -> Self {
        if let SettingKind::Text(bounds) = &mut self.kind {
            bounds.max_length = Some(max);
        }
        self
    }

    /// The whole value must match `regex` (Rust `regex` syntax, anchored by
    /// the host); for a text setting (other kinds ignore it).
    pub fn with_pattern(mut self, regex: &str) -> Self {
        if let SettingKind::Text(bounds) = &mut self.kind {
            bounds.pattern = Some(regex.to_owned());
        }
        self
    }

    /// A tenant may leave it out; the plugin then finds no value.
    pub fn optional(mut self) -> Self {
        self.presence = Presence::Optional;
        self
    }

    /// A tenant may leave it out; the plugin then receives `value` (which
    /// the host checks against the kind when it loads the plugin).
    pub fn with_default(mut self, value: &str) -> Self {
        self.presence = Presence::Defaulted(value.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_say_what_they_build() {
        let spec = SettingSpec::text("app_id", "the app")
            .with_max_length(32)
            .with_pattern("[0-9]+")
            .optional();
        assert_eq!(spec.name, "app_id");
        assert_eq!(spec.presence, Presence::Optional);
        assert_eq!(
            spec.kind,
            SettingKind::Text(TextBounds {
                max_length: Some(32),
                pattern: Some("[0-9]+".into()),
            })
        );
        // Text bounds mean nothing to a URL.
        assert_eq!(
            SettingSpec::url("u", "").with_max_length(3).kind,
            SettingKind::Url
        );
        let sign = SettingSpec::one_of("sign_type", "", &["RSA2"]).with_default("RSA2");
        assert_eq!(sign.presence, Presence::Defaulted("RSA2".into()));
        assert_eq!(sign.kind, SettingKind::OneOf(vec!["RSA2".into()]));
    }
}
