//! Every text the UI can show has a translation in both languages: every `t.s("…")` key in the
//! templates and the code, and every error code the use cases and the API can return.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use vaora_web::i18n::{Lang, keys};

fn rust_and_html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_and_html_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

/// The string literals that follow `marker` in `text`, e.g. `invalid("` → the code.
fn literals_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .filter(|s| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c.is_ascii_digit())
        })
        .collect()
}

fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["app/src", "web/src", "web/templates"] {
        rust_and_html_files(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable source file");
            (p, text)
        })
        .collect()
}

#[test]
fn every_ui_key_exists_in_both_languages() {
    let vi = keys(Lang::Vi);
    let en = keys(Lang::En);
    assert_eq!(vi, en, "vi.toml and en.toml have the same keys");
    let mut missing = Vec::new();
    for (path, text) in sources() {
        for key in literals_after(&text, "t.s(\"").into_iter().chain(literals_after(&text, ".s(\"")) {
            if !vi.iter().any(|k| k == key) {
                missing.push(format!("{}: {key}", path.display()));
            }
        }
    }
    assert!(missing.is_empty(), "keys without a translation: {missing:#?}");
}

#[test]
fn every_error_code_has_a_message_in_both_languages() {
    let vi = keys(Lang::Vi);
    let mut codes = Vec::new();
    for (path, text) in sources() {
        for marker in [
            "invalid(\"",
            "not_found(\"",
            "conflict(\"",
            "Unauthenticated, \"",
            "TooMany, \"",
            "Internal, \"",
            "Forbidden, \"",
        ] {
            codes.extend(literals_after(&text, marker).into_iter().map(|c| (path.clone(), c.to_owned())));
        }
        if path.ends_with("error.rs") {
            // The mappings from domain errors: `Variant => "code",`.
            codes.extend(literals_after(&text, "=> \"").into_iter().map(|c| (path.clone(), c.to_owned())));
        }
    }
    assert!(codes.len() > 50, "the scan finds the codes ({} found)", codes.len());
    let missing: Vec<String> = codes
        .iter()
        .filter(|(_, c)| !vi.iter().any(|k| *k == format!("error.{c}")))
        .map(|(p, c)| format!("{}: {c}", p.display()))
        .collect();
    assert!(missing.is_empty(), "error codes without a translation: {missing:#?}");
}

#[test]
fn every_health_choice_rule_and_domain_error_has_a_text_in_both_languages() {
    use vaora_domain::health::{Condition, Symptom, TestKind, TestOutcome};
    use vaora_domain::status::RuleSet;
    let vi = keys(Lang::Vi);
    let mut wanted: Vec<String> = Vec::new();
    wanted.extend(Symptom::ALL.iter().map(|s| format!("symptom.{}", s.as_str())));
    wanted.extend(Condition::ALL.iter().map(|c| format!("condition.{}", c.as_str())));
    wanted.extend(TestKind::ALL.iter().map(|k| format!("test_kind.{}", k.as_str())));
    wanted.extend(TestOutcome::ALL.iter().map(|o| format!("test_result.{}", o.as_str())));
    wanted.extend(["green", "amber", "red"].iter().map(|c| format!("status.{c}")));
    wanted.extend(RuleSet::default_table().rules().iter().map(|r| format!("rule.{}", r.name)));
    for contact in ["contact_confirmed_case", "contact_suspected_case", "contact_outbreak_area"] {
        wanted.push(format!("declare.{contact}"));
    }
    // The domain's own error codes: declarations (`=> "declaration_…"`) and rule tables (`fail("…"`).
    let domain = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src");
    let health = std::fs::read_to_string(domain.join("health.rs")).unwrap();
    let status = std::fs::read_to_string(domain.join("status.rs")).unwrap();
    let codes: Vec<&str> = literals_after(&health, "=> \"declaration_").into_iter().collect();
    assert!(codes.len() >= 6, "the scan finds the declaration codes");
    wanted.extend(codes.iter().map(|c| format!("error.declaration_{c}")));
    let rule_codes = literals_after(&status, "fail(\"");
    assert!(rule_codes.len() >= 8, "the scan finds the rule table codes");
    wanted.extend(rule_codes.iter().map(|c| format!("error.{c}")));
    let missing: Vec<&String> = wanted.iter().filter(|k| !vi.contains(k)).collect();
    assert!(missing.is_empty(), "texts missing: {missing:#?}");
}
