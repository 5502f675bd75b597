//! Translations: every UI text goes through a key looked up in `i18n/vi.toml` (the default) or
//! `i18n/en.toml`, both compiled into the binary. Error codes are translated under `error.<code>`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;

/// The cookie that keeps a person's language choice.
pub const LANG_COOKIE: &str = "vaora_lang";

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt, the default.
    Vi,
    /// English.
    En,
}

impl Lang {
    /// `vi` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// From `vi` / `en`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vi" => Some(Self::Vi),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language of a request: the cookie, else `Accept-Language` when it prefers English over
    /// Vietnamese, else Vietnamese.
    pub fn of(headers: &HeaderMap) -> Self {
        if let Some(l) = CookieJar::from_headers(headers).get(LANG_COOKIE).and_then(|c| Self::parse(c.value())) {
            return l;
        }
        let accept = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
        let first = accept
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .find(|p| p.starts_with("vi") || p.starts_with("en"));
        match first {
            Some(p) if p.starts_with("en") => Self::En,
            _ => Self::Vi,
        }
    }
}

type Catalog = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn parse_catalog(src: &str) -> Catalog {
    let mut out = Catalog::new();
    match src.parse::<toml::Table>() {
        Ok(t) => flatten("", &t, &mut out),
        Err(e) => tracing::error!(error = %e, "a translation file does not parse"),
    }
    out
}

fn catalogs() -> &'static (Catalog, Catalog) {
    static C: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    C.get_or_init(|| (parse_catalog(include_str!("../i18n/vi.toml")), parse_catalog(include_str!("../i18n/en.toml"))))
}

/// The texts of one language, for templates: `{{ t.s("signin.title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    /// The language.
    pub lang: Lang,
}

impl Texts {
    /// For a language.
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The text for `key`; falls back to Vietnamese, then to the key itself (a test checks that
    /// every key used exists in both files).
    pub fn s(&self, key: &str) -> String {
        let (vi, en) = catalogs();
        let primary = if self.lang == Lang::En { en } else { vi };
        primary.get(key).or_else(|| vi.get(key)).cloned().unwrap_or_else(|| key.to_owned())
    }

    /// The text for `prefix` + `value`, e.g. `t.of("sex.", "male")`.
    pub fn of(&self, prefix: &str, value: &str) -> String {
        self.s(&format!("{prefix}{value}"))
    }

    /// The text for an error code, falling back to the English message given.
    pub fn error(&self, code: &str, fallback: &str) -> String {
        let key = format!("error.{code}");
        let (vi, en) = catalogs();
        let primary = if self.lang == Lang::En { en } else { vi };
        primary.get(&key).cloned().unwrap_or_else(|| fallback.to_owned())
    }

    /// What a status rule means, for the people who see its name (`rule.<name>`); a rule the
    /// province added without a translation shows its name with spaces.
    pub fn rule(&self, name: &str) -> String {
        let key = format!("rule.{name}");
        let (vi, en) = catalogs();
        let primary = if self.lang == Lang::En { en } else { vi };
        primary.get(&key).or_else(|| vi.get(&key)).cloned().unwrap_or_else(|| name.replace('_', " "))
    }

    /// The language code, for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

/// Every key of a language's catalog (for the completeness test).
pub fn keys(lang: Lang) -> Vec<String> {
    let (vi, en) = catalogs();
    let mut k: Vec<String> = if lang == Lang::En { en.keys().cloned().collect() } else { vi.keys().cloned().collect() };
    k.sort();
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        assert!(!keys(Lang::Vi).is_empty());
        assert_eq!(keys(Lang::Vi), keys(Lang::En));
    }

    #[test]
    fn language_choice() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(&h), Lang::Vi);
        h.insert("accept-language", "en-US,en;q=0.9,vi;q=0.8".parse().unwrap());
        assert_eq!(Lang::of(&h), Lang::En);
        h.insert("cookie", "vaora_lang=vi".parse().unwrap());
        assert_eq!(Lang::of(&h), Lang::Vi);
    }
}
