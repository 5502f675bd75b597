//! Health declarations (khai báo y tế): the Ministry of Health's fields as data, their validation,
//! and the *facts* a declaration establishes for the status rules ([`crate::status`]).
//!
//! The answers are sensitive personal data (Decree 356/2025): the layers above seal them before
//! they reach a database, and only the facts, never the answers, reach a checker.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::admin_units::{Registry, Scheme};
use crate::status::{Fact, Facts};

/// How far back the declaration's questions look: "in the last 14 days".
pub const LOOKBACK_DAYS: i64 = 14;
/// A negative test counts as recent for this many days.
pub const RECENT_NEGATIVE_DAYS: i64 = 3;
/// At most this many places travelled, vaccine doses or test results in one declaration.
pub const MAX_ITEMS: usize = 20;
/// The longest free text (other symptom, notes), in characters.
pub const MAX_TEXT: usize = 500;

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every choice, in the form's order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable code (also the translation key's last part).
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// The choice with this code.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

choice!(
    /// A symptom in the last 14 days.
    Symptom {
        /// Sốt.
        Fever = "fever",
        /// Ho.
        Cough = "cough",
        /// Khó thở.
        ShortnessOfBreath = "shortness_of_breath",
        /// Đau họng.
        SoreThroat = "sore_throat",
        /// Mất vị giác hoặc khứu giác.
        LossOfTasteOrSmell = "loss_of_taste_or_smell",
        /// Mệt mỏi.
        Fatigue = "fatigue",
        /// Triệu chứng khác (described in `other_symptom`).
        Other = "other",
    }
);

choice!(
    /// An underlying condition, from the Ministry of Health's list.
    Condition {
        /// Bệnh gan mãn tính.
        ChronicLiver = "chronic_liver",
        /// Bệnh máu mãn tính.
        ChronicBlood = "chronic_blood",
        /// Bệnh phổi mãn tính.
        ChronicLung = "chronic_lung",
        /// Bệnh thận mãn tính.
        ChronicKidney = "chronic_kidney",
        /// Bệnh tim mạch.
        Cardiovascular = "cardiovascular",
        /// Huyết áp cao.
        Hypertension = "hypertension",
        /// Suy giảm miễn dịch.
        Immunodeficiency = "immunodeficiency",
        /// Người nhận ghép tạng, tủy xương.
        Transplant = "transplant",
        /// Tiểu đường.
        Diabetes = "diabetes",
        /// Ung thư.
        Cancer = "cancer",
        /// Có thai.
        Pregnancy = "pregnancy",
    }
);

choice!(
    /// How a test was done.
    TestKind {
        /// RT-PCR.
        Pcr = "pcr",
        /// Test nhanh kháng nguyên.
        RapidAntigen = "rapid_antigen",
    }
);

choice!(
    /// A test's result.
    TestOutcome {
        /// Dương tính.
        Positive = "positive",
        /// Âm tính.
        Negative = "negative",
    }
);

/// One vaccine dose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dose {
    /// The day it was given.
    pub date: NaiveDate,
    /// The vaccine's name, as on the vaccination card (may be empty).
    #[serde(default)]
    pub vaccine: String,
}

/// One test result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The kind of test.
    pub kind: TestKind,
    /// The day of the test.
    pub date: NaiveDate,
    /// Its result.
    pub result: TestOutcome,
}

/// The answers of one declaration, as the person (or someone declaring for them) gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// Symptoms in the last 14 days.
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
    /// What the other symptom is, when `symptoms` includes `other`.
    #[serde(default)]
    pub other_symptom: String,
    /// Contact in the last 14 days with a confirmed case.
    #[serde(default)]
    pub contact_confirmed_case: bool,
    /// Contact in the last 14 days with a suspected case.
    #[serde(default)]
    pub contact_suspected_case: bool,
    /// Contact in the last 14 days with someone from an outbreak area.
    #[serde(default)]
    pub contact_outbreak_area: bool,
    /// Places travelled in the last 14 days: administrative unit codes of the current set.
    #[serde(default)]
    pub travel: Vec<String>,
    /// Underlying conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Vaccine doses received.
    #[serde(default)]
    pub doses: Vec<Dose>,
    /// Test results.
    #[serde(default)]
    pub tests: Vec<TestResult>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// Why a declaration was refused; [`DeclarationError::code`] is the stable error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarationError {
    /// `other` was ticked without saying what, or text was given without ticking it.
    #[error("say what the other symptom is (at most 500 characters), and only when it is ticked")]
    OtherSymptom,
    /// A place is not an administrative unit of the current set.
    #[error("{0} is not an administrative unit")]
    UnknownPlace(String),
    /// A date is after the declaration.
    #[error("{0} is in the future")]
    FutureDate(NaiveDate),
    /// A date is before 2020, when no COVID-19 vaccine or test existed here.
    #[error("{0} is too long ago")]
    DateTooOld(NaiveDate),
    /// Too many places, doses or tests.
    #[error("at most {MAX_ITEMS} places, doses or test results")]
    TooMany,
    /// Notes or a vaccine name too long, or holding control characters.
    #[error("a text is too long or holds control characters")]
    BadText,
}

impl DeclarationError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OtherSymptom => "declaration_other_symptom",
            Self::UnknownPlace(_) => "declaration_unknown_place",
            Self::FutureDate(_) => "declaration_future_date",
            Self::DateTooOld(_) => "declaration_date_too_old",
            Self::TooMany => "declaration_too_many_items",
            Self::BadText => "declaration_bad_text",
        }
    }
}

fn clean_text(s: &str, max: usize) -> Result<String, DeclarationError> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DeclarationError::BadText);
    }
    Ok(t.to_owned())
}

impl Answers {
    /// Checks and normalises the answers of a declaration made on `today` (Vietnam date):
    /// duplicates removed, lists sorted, texts trimmed, doses and tests in date order.
    pub fn validate(mut self, today: NaiveDate) -> Result<Self, DeclarationError> {
        self.symptoms.sort();
        self.symptoms.dedup();
        self.conditions.sort();
        self.conditions.dedup();
        self.other_symptom = clean_text(&self.other_symptom, 200)?;
        let other = self.symptoms.contains(&Symptom::Other);
        if other == self.other_symptom.is_empty() {
            return Err(DeclarationError::OtherSymptom);
        }
        self.notes = clean_text(&self.notes, MAX_TEXT)?;
        if self.travel.len() > MAX_ITEMS || self.doses.len() > MAX_ITEMS || self.tests.len() > MAX_ITEMS {
            return Err(DeclarationError::TooMany);
        }
        let registry = Registry::get();
        let mut travel = Vec::with_capacity(self.travel.len());
        for code in &self.travel {
            let code = code.trim();
            if registry.unit(Scheme::Current, code).is_none() {
                return Err(DeclarationError::UnknownPlace(code.chars().take(20).collect()));
            }
            if !travel.iter().any(|c: &String| c == code) {
                travel.push(code.to_owned());
            }
        }
        self.travel = travel;
        let earliest = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN);
        let check = |d: NaiveDate| {
            if d > today {
                Err(DeclarationError::FutureDate(d))
            } else if d < earliest {
                Err(DeclarationError::DateTooOld(d))
            } else {
                Ok(())
            }
        };
        for d in &mut self.doses {
            check(d.date)?;
            d.vaccine = clean_text(&d.vaccine, 60)?;
        }
        for t in &self.tests {
            check(t.date)?;
        }
        self.doses.sort_by_key(|d| d.date);
        self.tests.sort_by_key(|t| t.date);
        Ok(self)
    }

    /// What these answers establish on `day` (Vietnam date) for the status rules.
    pub fn facts(&self, day: NaiveDate) -> Facts {
        let mut f = Facts::default();
        for s in &self.symptoms {
            f.insert(match s {
                Symptom::Fever => Fact::SymptomFever,
                Symptom::Cough => Fact::SymptomCough,
                Symptom::ShortnessOfBreath => Fact::SymptomShortnessOfBreath,
                Symptom::SoreThroat => Fact::SymptomSoreThroat,
                Symptom::LossOfTasteOrSmell => Fact::SymptomLossOfTasteOrSmell,
                Symptom::Fatigue => Fact::SymptomFatigue,
                Symptom::Other => Fact::SymptomOther,
            });
            f.insert(Fact::SymptomAny);
        }
        for (yes, fact) in [
            (self.contact_confirmed_case, Fact::ContactConfirmedCase),
            (self.contact_suspected_case, Fact::ContactSuspectedCase),
            (self.contact_outbreak_area, Fact::ContactOutbreakArea),
        ] {
            if yes {
                f.insert(fact);
                f.insert(Fact::ContactAny);
            }
        }
        if !self.travel.is_empty() {
            f.insert(Fact::TravelAny);
        }
        if !self.conditions.is_empty() {
            f.insert(Fact::ConditionAny);
        }
        f.insert(match self.doses.len() {
            0 => Fact::VaccineNone,
            1 => Fact::VaccinePartial,
            _ => Fact::VaccineFull,
        });
        let days_ago = |d: NaiveDate| (day - d).num_days();
        // The latest test decides: a positive one in the last 14 days, a negative one in the last 3.
        if let Some(t) =
            self.tests.iter().filter(|t| (0..=LOOKBACK_DAYS).contains(&days_ago(t.date))).max_by_key(|t| t.date)
        {
            match t.result {
                TestOutcome::Positive => f.insert(Fact::TestPositive),
                TestOutcome::Negative if days_ago(t.date) <= RECENT_NEGATIVE_DAYS => f.insert(Fact::TestNegativeRecent),
                TestOutcome::Negative => {}
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn answers_are_normalised_and_checked() {
        let today = day("2026-11-27");
        let a = Answers {
            symptoms: vec![Symptom::Cough, Symptom::Fever, Symptom::Cough],
            travel: vec!["46".into(), " 46 ".into()],
            doses: vec![
                Dose { date: day("2021-12-01"), vaccine: " Pfizer ".into() },
                Dose { date: day("2021-09-01"), vaccine: "AstraZeneca".into() },
            ],
            notes: "  không  ".into(),
            ..Answers::default()
        }
        .validate(today)
        .unwrap();
        assert_eq!(a.symptoms, vec![Symptom::Fever, Symptom::Cough]);
        assert_eq!(a.travel, vec!["46".to_owned()]);
        assert_eq!(a.doses[0].date, day("2021-09-01"));
        assert_eq!(a.doses[1].vaccine, "Pfizer");
        assert_eq!(a.notes, "không");

        let refuse = |a: Answers| a.validate(today).unwrap_err().code();
        assert_eq!(
            refuse(Answers { symptoms: vec![Symptom::Other], ..Answers::default() }),
            "declaration_other_symptom"
        );
        assert_eq!(
            refuse(Answers { other_symptom: "đau đầu".into(), ..Answers::default() }),
            "declaration_other_symptom"
        );
        assert_eq!(refuse(Answers { travel: vec!["99999".into()], ..Answers::default() }), "declaration_unknown_place");
        let future = TestResult { kind: TestKind::Pcr, date: day("2026-11-28"), result: TestOutcome::Negative };
        assert_eq!(refuse(Answers { tests: vec![future], ..Answers::default() }), "declaration_future_date");
        let old = Dose { date: day("2019-05-01"), vaccine: String::new() };
        assert_eq!(refuse(Answers { doses: vec![old], ..Answers::default() }), "declaration_date_too_old");
        assert_eq!(refuse(Answers { notes: "x".repeat(501), ..Answers::default() }), "declaration_bad_text");
        assert_eq!(refuse(Answers { notes: "a\u{0}b".into(), ..Answers::default() }), "declaration_bad_text");
        assert_eq!(
            refuse(Answers { travel: vec!["46".into(); 21], ..Answers::default() }),
            "declaration_too_many_items"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<Answers>(r#"{"symptoms":["fever"],"temperature":39}"#).unwrap_err();
        assert!(e.to_string().contains("temperature"), "{e}");
        assert!(serde_json::from_str::<Answers>(r#"{"symptoms":["sneezing"]}"#).is_err());
    }

    #[test]
    fn facts_follow_the_answers() {
        let today = day("2026-11-27");
        let clean = Answers::default().facts(today);
        assert_eq!(clean.names(), vec!["vaccine.none"]);

        let a = Answers {
            symptoms: vec![Symptom::Fever],
            contact_outbreak_area: true,
            travel: vec!["46".into()],
            doses: vec![Dose { date: day("2021-09-01"), vaccine: String::new() }; 2],
            tests: vec![
                TestResult { kind: TestKind::Pcr, date: day("2026-11-20"), result: TestOutcome::Positive },
                TestResult { kind: TestKind::RapidAntigen, date: day("2026-11-26"), result: TestOutcome::Negative },
            ],
            ..Answers::default()
        };
        let f = a.facts(today);
        for fact in [
            Fact::SymptomFever,
            Fact::SymptomAny,
            Fact::ContactOutbreakArea,
            Fact::ContactAny,
            Fact::TravelAny,
            Fact::VaccineFull,
            Fact::TestNegativeRecent,
        ] {
            assert!(f.contains(fact), "{fact:?} in {:?}", f.names());
        }
        assert!(!f.contains(Fact::TestPositive), "the later negative test decides");
        assert!(!f.contains(Fact::ContactConfirmedCase));
        // A week later the negative test is no longer recent; two weeks later no test counts.
        assert!(!a.facts(day("2026-12-03")).contains(Fact::TestNegativeRecent));
        let positive_only = Answers { tests: vec![a.tests[0].clone()], ..Answers::default() };
        assert!(positive_only.facts(today).contains(Fact::TestPositive));
        assert!(!positive_only.facts(day("2026-12-05")).contains(Fact::TestPositive));
    }
}
