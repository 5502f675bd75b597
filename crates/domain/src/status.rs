//! Health status rules: a readable table, kept as data, that turns what is known about a person at
//! a moment (the [`Facts`]) into green, amber or red, and names the rule that decided.
//!
//! A table is a list of rules, one per line, tried from the top; the first whose condition holds
//! decides. The last rule must be `always`, so that everyone gets an answer:
//!
//! ```text
//! fever: symptom.fever => red
//! no_declaration: declaration.missing => amber
//! unvaccinated_with_contact: vaccine.none and contact.any => red
//! declared_well: always => green
//! ```
//!
//! A condition is `always`, or facts joined by `and`, each possibly preceded by `not`. Lines that
//! are empty or begin with `#` are ignored.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most rules a table may hold.
pub const MAX_RULES: usize = 100;

macro_rules! facts {
    ($($(#[$doc:meta])* $variant:ident = $name:literal),+ $(,)?) => {
        /// Something that may be true of a person at the moment of a scan.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Fact { $($(#[$doc])* $variant),+ }

        impl Fact {
            /// Every fact, in the order the rules page lists them.
            pub const ALL: &'static [Fact] = &[$(Fact::$variant),+];

            /// Its name in a rule table.
            pub fn name(self) -> &'static str {
                match self { $(Fact::$variant => $name),+ }
            }

            /// The fact with this name.
            pub fn parse(s: &str) -> Option<Fact> {
                match s { $($name => Some(Fact::$variant),)+ _ => None }
            }
        }
    };
}

facts!(
    /// The person has no valid declaration at the time (none, or the last one expired).
    DeclarationMissing = "declaration.missing",
    /// The person has a valid declaration.
    DeclarationValid = "declaration.valid",
    /// Fever declared.
    SymptomFever = "symptom.fever",
    /// Cough declared.
    SymptomCough = "symptom.cough",
    /// Shortness of breath declared.
    SymptomShortnessOfBreath = "symptom.shortness_of_breath",
    /// Sore throat declared.
    SymptomSoreThroat = "symptom.sore_throat",
    /// Loss of taste or smell declared.
    SymptomLossOfTasteOrSmell = "symptom.loss_of_taste_or_smell",
    /// Fatigue declared.
    SymptomFatigue = "symptom.fatigue",
    /// Another symptom declared.
    SymptomOther = "symptom.other",
    /// Any symptom declared.
    SymptomAny = "symptom.any",
    /// Contact with a confirmed case declared.
    ContactConfirmedCase = "contact.confirmed_case",
    /// Contact with a suspected case declared.
    ContactSuspectedCase = "contact.suspected_case",
    /// Contact with someone from an outbreak area declared.
    ContactOutbreakArea = "contact.outbreak_area",
    /// Any of the contacts above declared.
    ContactAny = "contact.any",
    /// Travel in the last 14 days declared.
    TravelAny = "travel.any",
    /// An underlying condition declared.
    ConditionAny = "condition.any",
    /// No vaccine dose declared.
    VaccineNone = "vaccine.none",
    /// One dose declared.
    VaccinePartial = "vaccine.partial",
    /// Two or more doses declared.
    VaccineFull = "vaccine.full",
    /// The latest test in the last 14 days was positive.
    TestPositive = "test.positive",
    /// The latest test was negative, in the last 3 days.
    TestNegativeRecent = "test.negative_recent",
    /// The person is a suspected case under an open tracing case.
    CaseSuspected = "case.suspected",
    /// The person is a confirmed case under an open tracing case.
    CaseConfirmed = "case.confirmed",
    /// The person has a live exposure notice as a first-degree contact (F1).
    NoticeF1 = "notice.f1",
    /// The person has a live exposure notice as a second-degree contact (F2).
    NoticeF2 = "notice.f2",
);

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Facts(u64);

impl Facts {
    /// Adds a fact.
    pub fn insert(&mut self, fact: Fact) {
        self.0 |= 1 << fact as u8;
    }

    /// Whether it holds.
    pub fn contains(self, fact: Fact) -> bool {
        self.0 & (1 << fact as u8) != 0
    }

    /// The names of the facts held, in [`Fact::ALL`] order.
    pub fn names(self) -> Vec<&'static str> {
        Fact::ALL.iter().filter(|f| self.contains(**f)).map(|f| f.name()).collect()
    }
}

/// A status colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// May enter.
    Green,
    /// May enter with care (an officer decides).
    Amber,
    /// May not enter.
    Red,
}

impl Colour {
    /// `green`, `amber` or `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Amber => "amber",
            Colour::Red => "red",
        }
    }

    /// The colour with this name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "green" => Some(Colour::Green),
            "amber" => Some(Colour::Amber),
            "red" => Some(Colour::Red),
            _ => None,
        }
    }
}

/// One part of a condition: a fact, or its negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// `not fact`.
    pub negated: bool,
    /// The fact.
    pub fact: Fact,
}

/// One rule: a name (the reason a checker sees), a condition and a colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `[a-z0-9_]`, 1 to 40 characters, unique in its table.
    pub name: String,
    /// All terms must hold; empty means `always`.
    pub when: Vec<Term>,
    /// The colour it gives.
    pub colour: Colour,
}

impl Rule {
    /// Whether the condition holds for these facts.
    pub fn matches(&self, facts: Facts) -> bool {
        self.when.iter().all(|t| facts.contains(t.fact) != t.negated)
    }

    /// The condition as written in a table.
    pub fn condition(&self) -> String {
        if self.when.is_empty() {
            return "always".to_owned();
        }
        let terms: Vec<String> =
            self.when.iter().map(|t| if t.negated { format!("not {}", t.fact) } else { t.fact.to_string() }).collect();
        terms.join(" and ")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} => {}", self.name, self.condition(), self.colour.as_str())
    }
}

/// Why a rule table was refused: the stable code, and the line (from 1) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RuleError {
    /// The stable error code.
    pub code: &'static str,
    /// The line at fault (0 for the table as a whole).
    pub line: usize,
    /// What is wrong, in English.
    pub message: String,
}

fn fail(code: &'static str, line: usize, message: impl Into<String>) -> RuleError {
    RuleError { code, line, message: message.into() }
}

/// A rule table, valid by construction: names unique, at most [`MAX_RULES`], ending with `always`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The table vaora starts with.
    pub fn default_table() -> Self {
        Self::parse(DEFAULT_TABLE).unwrap_or_else(|e| unreachable!("the default table is valid: {e}"))
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that holds (there always is one: the last rule is `always`).
    pub fn decide(&self, facts: Facts) -> &Rule {
        self.rules.iter().find(|r| r.matches(facts)).unwrap_or_else(|| &self.rules[self.rules.len() - 1])
    }

    /// Reads a table written one rule per line (`name: condition => colour`).
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (name, rest) = l
                .split_once(':')
                .ok_or_else(|| fail("rule_syntax", line, "write a rule as `name: condition => colour`"))?;
            let (when, colour) = rest
                .split_once("=>")
                .ok_or_else(|| fail("rule_syntax", line, "write a rule as `name: condition => colour`"))?;
            rules.push(Self::rule(line, name.trim(), when.trim(), colour.trim())?);
        }
        Self::new(rules)
    }

    /// Builds a table from rules given one by one (the API's form); `line` in errors is the rule's
    /// position from 1.
    pub fn from_parts<'a>(parts: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        for (i, (name, when, colour)) in parts.into_iter().enumerate() {
            rules.push(Self::rule(i + 1, name.trim(), when.trim(), colour.trim())?);
        }
        Self::new(rules)
    }

    fn rule(line: usize, name: &str, when: &str, colour: &str) -> Result<Rule, RuleError> {
        if name.is_empty()
            || name.len() > 40
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(fail("rule_bad_name", line, "a rule's name has 1 to 40 small letters, digits or _"));
        }
        let colour = Colour::parse(colour)
            .ok_or_else(|| fail("rule_bad_colour", line, format!("`{colour}` is not green, amber or red")))?;
        let mut terms = Vec::new();
        if when != "always" {
            for part in when.split(" and ") {
                let part = part.trim();
                let (negated, name_of_fact) = match part.strip_prefix("not ") {
                    Some(f) => (true, f.trim()),
                    None => (false, part),
                };
                let fact = Fact::parse(name_of_fact).ok_or_else(|| {
                    fail("rule_unknown_fact", line, format!("`{name_of_fact}` is not a fact vaora knows"))
                })?;
                terms.push(Term { negated, fact });
            }
        }
        Ok(Rule { name: name.to_owned(), when: terms, colour })
    }

    fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        if rules.is_empty() {
            return Err(fail("rule_table_empty", 0, "a table needs at least the final `always` rule"));
        }
        if rules.len() > MAX_RULES {
            return Err(fail("rule_table_too_long", 0, format!("at most {MAX_RULES} rules")));
        }
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].iter().any(|o| o.name == r.name) {
                return Err(fail("rule_duplicate_name", i + 1, format!("two rules are called `{}`", r.name)));
            }
        }
        if !rules[rules.len() - 1].when.is_empty() {
            return Err(fail("rule_no_fallback", 0, "the last rule must be `always`, so that everyone gets an answer"));
        }
        Ok(Self { rules })
    }

    /// The table as text, one rule per line; [`RuleSet::parse`] reads it back unchanged.
    pub fn to_text(&self) -> String {
        self.rules.iter().map(|r| format!("{r}\n")).collect()
    }
}

/// vaora's starting table: cases and exposure notices first, then what the declaration says, then
/// whether there is a valid one at all.
pub const DEFAULT_TABLE: &str = "\
confirmed_case: case.confirmed => red
suspected_case: case.suspected => red
exposure_f1: notice.f1 => red
exposure_f2: notice.f2 => amber
positive_test: test.positive => red
fever: symptom.fever => red
shortness_of_breath: symptom.shortness_of_breath => red
contact_confirmed_case: contact.confirmed_case => red
symptoms: symptom.any => amber
contact: contact.any => amber
no_declaration: declaration.missing => amber
declared_well: always => green
";

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(list: &[Fact]) -> Facts {
        let mut f = Facts::default();
        for x in list {
            f.insert(*x);
        }
        f
    }

    #[test]
    fn the_first_rule_that_holds_decides() {
        let t = RuleSet::default_table();
        let decide = |list: &[Fact]| {
            let r = t.decide(facts(list));
            (r.name.as_str(), r.colour)
        };
        assert_eq!(decide(&[Fact::DeclarationValid, Fact::VaccineFull]), ("declared_well", Colour::Green));
        assert_eq!(decide(&[Fact::DeclarationMissing]), ("no_declaration", Colour::Amber));
        assert_eq!(decide(&[Fact::DeclarationValid, Fact::SymptomFever, Fact::SymptomAny]), ("fever", Colour::Red));
        assert_eq!(
            decide(&[Fact::DeclarationValid, Fact::SymptomCough, Fact::SymptomAny]),
            ("symptoms", Colour::Amber)
        );
        assert_eq!(decide(&[Fact::DeclarationMissing, Fact::NoticeF1]), ("exposure_f1", Colour::Red));
        assert_eq!(decide(&[Fact::CaseConfirmed, Fact::DeclarationValid]), ("confirmed_case", Colour::Red));
    }

    #[test]
    fn negation_and_conjunction() {
        let t =
            RuleSet::parse("risky: vaccine.none and not test.negative_recent => amber\nok: always => green").unwrap();
        assert_eq!(t.decide(facts(&[Fact::VaccineNone])).name, "risky");
        assert_eq!(t.decide(facts(&[Fact::VaccineNone, Fact::TestNegativeRecent])).name, "ok");
        assert_eq!(t.decide(facts(&[Fact::VaccineFull])).name, "ok");
    }

    #[test]
    fn a_table_reads_back_as_written() {
        let t = RuleSet::default_table();
        assert_eq!(t.to_text(), DEFAULT_TABLE);
        assert_eq!(RuleSet::parse(&t.to_text()).unwrap(), t);
        let with_comments = format!("# the province's table\n\n{DEFAULT_TABLE}");
        assert_eq!(RuleSet::parse(&with_comments).unwrap(), t);
        let parts = [("fever", "symptom.fever", "red"), ("rest", "always", "green")];
        assert_eq!(
            RuleSet::from_parts(parts).unwrap().to_text(),
            "fever: symptom.fever => red\nrest: always => green\n"
        );
    }

    #[test]
    fn bad_tables_are_refused_with_the_line() {
        let refuse = |text: &str| {
            let e = RuleSet::parse(text).unwrap_err();
            (e.code, e.line)
        };
        assert_eq!(refuse("fever symptom.fever => red\nok: always => green"), ("rule_syntax", 1));
        assert_eq!(refuse("fever: symptom.fever red"), ("rule_syntax", 1));
        assert_eq!(refuse("\nFever: symptom.fever => red\nok: always => green"), ("rule_bad_name", 2));
        assert_eq!(refuse("fever: symptom.fever => purple\nok: always => green"), ("rule_bad_colour", 1));
        assert_eq!(refuse("fever: symptom.temperature => red\nok: always => green"), ("rule_unknown_fact", 1));
        assert_eq!(refuse("a: symptom.fever => red\na: always => green"), ("rule_duplicate_name", 2));
        assert_eq!(refuse("fever: symptom.fever => red"), ("rule_no_fallback", 0));
        assert_eq!(refuse("# nothing\n"), ("rule_table_empty", 0));
        let long: String = (0..=MAX_RULES).map(|i| format!("r{i}: always => green\n")).collect();
        assert_eq!(refuse(&long), ("rule_table_too_long", 0));
    }

    #[test]
    fn every_fact_has_a_distinct_bit_and_name() {
        assert!(Fact::ALL.len() <= 64);
        for (i, f) in Fact::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
            assert_eq!(Fact::parse(f.name()), Some(*f));
        }
        let all = facts(Fact::ALL);
        assert_eq!(all.names().len(), Fact::ALL.len());
    }
}
