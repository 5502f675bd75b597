//! The demo: Thừa Thiên Huế's Department of Transport (Sở GTVT) with its units, about 300 staff
//! with Vietnamese names, checkpoints, checkers, visitors, the check-ins of the last two weeks'
//! working days, and one account per role. Loaded only into an empty database; the same seed
//! gives the same people every time, and the same check-ins on the same day.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use vaora_domain::admin_units::{Registry, Scheme};
use vaora_domain::health::{Answers, Symptom};
use vaora_domain::org::CheckpointMode;
use vaora_domain::person::Sex;
use vaora_domain::role::{Grant, Role};
use vaora_domain::{SessionId, UserId};

use crate::App;
use crate::accounts::Registration;
use crate::auth::{Actor, RequestMeta};
use crate::error::AppError;
use crate::orgs::{AgencyInput, CheckpointInput, RosterInput};
use crate::store::{ScanAnswer, ScanWrite};

/// A demo account to sign in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoAccount {
    /// The role it shows.
    pub role: Role,
    /// Phone number to sign in with.
    pub phone: String,
    /// Its password.
    pub password: String,
    /// Full name.
    pub full_name: String,
}

/// What the demo loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    /// One account per role.
    pub accounts: Vec<DemoAccount>,
    /// Staff on the roster.
    pub staff: usize,
    /// Staff who have an account.
    pub staff_with_accounts: usize,
    /// Staff who filed a health declaration today.
    pub declared: usize,
    /// Visitors (accounts not on the roster).
    pub visitors: usize,
    /// Checkpoints.
    pub checkpoints: usize,
    /// Visits over the working days of the last two weeks (none today).
    pub past_visits: usize,
}

const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 30),
    ("Huỳnh", 21),
    ("Phan", 45),
    ("Võ", 39),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 30),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Tôn Nữ", 6),
    ("Tôn Thất", 6),
    ("Nguyễn Phước", 4),
    ("Trương", 9),
    ("Đoàn", 8),
];
const MIDDLE_MALE: &[&str] =
    &["Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thanh", "Xuân", "Ngọc", "Đình", "Anh", "Quốc"];
const MIDDLE_FEMALE: &[&str] =
    &["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Bảo", "Kim", "Mỹ", "Hoài", "Thùy", "Khánh"];
const GIVEN_MALE: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hải", "Hiếu", "Hùng", "Huy", "Khánh", "Long", "Minh", "Nam", "Phong", "Phúc",
    "Quân", "Sơn", "Tài", "Thắng", "Thành", "Toàn", "Trung", "Tuấn", "Việt", "Vinh", "Đạt", "Khoa", "Lâm", "Nhân",
];
const GIVEN_FEMALE: &[&str] = &[
    "Anh",
    "Châu",
    "Diệp",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Quyên",
    "Thảo",
    "Thủy",
    "Trang",
    "Trinh",
    "Uyên",
    "Vân",
    "Yến",
];
const POSITIONS: &[&str] = &[
    "Chuyên viên",
    "Chuyên viên chính",
    "Cán sự",
    "Phó Trưởng phòng",
    "Kế toán",
    "Nhân viên",
    "Thanh tra viên",
    "Đăng kiểm viên",
];
/// The units of the demo agency and how many staff each has.
const UNITS: &[(&str, usize)] = &[
    ("Văn phòng Sở", 42),
    ("Thanh tra Sở", 38),
    ("Phòng Quản lý vận tải", 34),
    ("Phòng Kế hoạch – Tài chính", 22),
    ("Phòng Quản lý kết cấu hạ tầng giao thông", 30),
    ("Phòng Quản lý chất lượng công trình giao thông", 26),
    ("Trung tâm Đăng kiểm xe cơ giới", 64),
    ("Ban Quản lý dự án giao thông", 44),
];
/// Checkpoints: name, mode, default stay in minutes.
const CHECKPOINTS: &[(&str, &str, i64)] = &[
    ("Cổng chính – 100 Hàm Nghi", "entry", 480),
    ("Bộ phận Một cửa", "both", 60),
    ("Cổng phụ (lối ra)", "exit", 480),
    ("Trung tâm Đăng kiểm – cổng vào", "entry", 240),
];

/// Random person details, deterministic for a seed.
struct People {
    rng: StdRng,
    phones: std::collections::HashSet<String>,
    wards: Vec<String>,
}

struct Person {
    full_name: String,
    sex: Sex,
    birth_date: String,
    cccd: String,
    phone: String,
    ward: String,
}

impl People {
    fn new(seed: u64) -> Self {
        let wards = Registry::get().children(Scheme::Current, Some("46")).into_iter().map(|u| u.code.clone()).collect();
        Self { rng: StdRng::seed_from_u64(seed), phones: Default::default(), wards }
    }

    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v.choose(&mut self.rng).copied().unwrap_or("An")
    }

    fn person(&mut self, min_age: i32, max_age: i32) -> Person {
        let female = self.rng.gen_bool(0.48);
        let total: u32 = FAMILY.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total);
        let mut family = "Nguyễn";
        for (name, w) in FAMILY {
            if roll < *w {
                family = name;
                break;
            }
            roll -= w;
        }
        let (middle, given) = if female {
            (self.pick(MIDDLE_FEMALE), self.pick(GIVEN_FEMALE))
        } else {
            (self.pick(MIDDLE_MALE), self.pick(GIVEN_MALE))
        };
        // "Tôn Nữ" is a female lineage name; its men are "Tôn Thất".
        let family = match (family, female) {
            ("Tôn Nữ", false) => "Tôn Thất",
            ("Tôn Thất", true) => "Tôn Nữ",
            (f, _) => f,
        };
        let full_name =
            if family == "Tôn Nữ" { format!("{family} {given}") } else { format!("{family} {middle} {given}") };
        let year = 2026 - self.rng.gen_range(min_age..=max_age);
        let (month, day) = (self.rng.gen_range(1..=12), self.rng.gen_range(1..=28));
        let century_sex = (year - 1900) / 100 * 2 + i32::from(female);
        // Most staff were born in Thừa Thiên Huế (46); some elsewhere in the centre.
        let province = ["46", "46", "46", "46", "45", "48", "44", "49"][self.rng.gen_range(0..8)];
        let cccd = format!("0{province}{century_sex}{:02}{:06}", year % 100, self.rng.gen_range(0..1_000_000));
        let phone = loop {
            let prefix = ["90", "93", "94", "91", "98", "97", "86", "88", "77", "79", "35", "39", "32", "84", "83"]
                [self.rng.gen_range(0..15)];
            let p = format!("0{prefix}{:07}", self.rng.gen_range(0..10_000_000));
            if self.phones.insert(p.clone()) {
                break p;
            }
        };
        let ward = self.wards[self.rng.gen_range(0..self.wards.len().max(1))].clone();
        Person {
            full_name,
            sex: if female { Sex::Female } else { Sex::Male },
            birth_date: format!("{year:04}-{month:02}-{day:02}"),
            cccd,
            phone,
            ward,
        }
    }
}

fn registration(p: &Person, password: &str, rng: &mut StdRng) -> Registration {
    Registration {
        phone: p.phone.clone(),
        password: password.to_owned(),
        full_name: p.full_name.clone(),
        birth_date: p.birth_date.clone(),
        sex: p.sex.as_str().to_owned(),
        cccd: Some(p.cccd.clone()),
        cmnd: None,
        address_scheme: "current".into(),
        address_unit: p.ward.clone(),
        address_street: format!(
            "{} {}",
            rng.gen_range(1..200),
            [
                "Lê Lợi",
                "Hùng Vương",
                "Trần Hưng Đạo",
                "Nguyễn Huệ",
                "Điện Biên Phủ",
                "Lý Thường Kiệt",
                "Bà Triệu",
                "Hàm Nghi"
            ][rng.gen_range(0..8)]
        ),
    }
}

/// A memorable password: three different syllables of Huế's places and four digits (at least 13
/// characters).
fn demo_password(rng: &mut StdRng) -> String {
    const SYL: &[&str] = &[
        "hue", "song", "huong", "ngu", "binh", "thien", "mu", "dong", "ba", "vi", "da", "tra", "am", "bach", "ma",
        "lang", "co",
    ];
    // Three different syllables: a repeated one once made a password too short to accept.
    let w: Vec<&str> = SYL.choose_multiple(rng, 3).copied().collect();
    format!("{}-{:04}", w.join("-"), rng.gen_range(0..10_000))
}

impl App {
    /// Loads the demo into an empty database. `seed` fixes the people; `password_seed` the
    /// passwords printed for the role accounts.
    pub async fn load_demo(&self, seed: u64, password_seed: u64) -> Result<DemoSummary, AppError> {
        if !self.store.is_empty().await? {
            return Err(AppError::conflict("demo_needs_empty_database", "the demo loads only into an empty database"));
        }
        let meta = RequestMeta { ip: None, user_agent: "vaora demo".into() };
        let mut people = People::new(seed);
        let mut pw_rng = StdRng::seed_from_u64(password_seed);
        let mut street_rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        // Declarations draw from their own generator, so that the people stay the same.
        let mut health_rng = StdRng::seed_from_u64(seed ^ 0xdec1);

        // One account per role, each with its own password.
        let mut accounts = Vec::new();
        let mut role_people = Vec::new();
        for role in [Role::ProvinceAdmin, Role::HealthOfficial, Role::AgencyAdmin, Role::Checker, Role::Citizen] {
            let p = people.person(25, 55);
            let password = demo_password(&mut pw_rng);
            let r = registration(&p, &password, &mut street_rng);
            let id = if role == Role::ProvinceAdmin {
                self.create_first_province_admin(r).await?
            } else {
                self.register(r, &meta).await?
            };
            accounts.push(DemoAccount { role, phone: p.phone.clone(), password, full_name: p.full_name.clone() });
            role_people.push((role, id, p));
        }
        let admin_id = role_people[0].1;
        let province_admin = Actor {
            user_id: admin_id,
            session_id: SessionId(0),
            grants: vec![Grant::ProvinceAdmin],
            meta: meta.clone(),
        };
        let agency = self
            .create_agency(
                &province_admin,
                AgencyInput {
                    name: "Sở Giao thông Vận tải tỉnh Thừa Thiên Huế".into(),
                    code: "SGTVT-TTH".into(),
                    address_scheme: "current".into(),
                    address_unit: "19789".into(),
                    address_street: "100 Hàm Nghi".into(),
                },
            )
            .await?;
        let health = role_people[1].1;
        self.grant_role(&province_admin, health, Grant::HealthOfficial).await?;
        let office_admin = role_people[2].1;
        self.grant_role(&province_admin, office_admin, Grant::AgencyAdmin { agency_id: agency }).await?;

        let mut checkpoints = Vec::new();
        for (name, mode, stay) in CHECKPOINTS {
            let input = CheckpointInput {
                name: (*name).into(),
                address_street: String::new(),
                mode: (*mode).into(),
                default_stay_minutes: *stay,
                active: true,
            };
            checkpoints.push(self.create_checkpoint(&province_admin, agency, input).await?);
        }
        self.grant_role(&province_admin, role_people[3].1, Grant::Checker { checkpoint_id: checkpoints[0] }).await?;
        self.grant_role(&province_admin, role_people[3].1, Grant::Checker { checkpoint_id: checkpoints[1] }).await?;

        // Staff: most have registered; the rest are on the roster only, waiting to register.
        let staff_password = demo_password(&mut pw_rng);
        let staff_hash = self.hashing.hash(staff_password.clone()).await?;
        let mut staff = 0;
        let mut staff_with_accounts = 0;
        // Who comes to work, with their name and whether they work at the inspection centre's
        // own gate.
        let mut workers: Vec<(UserId, String, bool)> = Vec::new();
        let mut declared = 0;
        for (unit_name, count) in UNITS {
            let unit = self.create_unit(&province_admin, agency, None, unit_name).await?;
            let mut lines = Vec::new();
            for i in 0..*count {
                let p = people.person(23, 60);
                if people.rng.gen_bool(0.88) {
                    let id = self
                        .register_with(
                            registration(&p, &staff_password, &mut street_rng),
                            &meta,
                            Some(staff_hash.clone()),
                        )
                        .await?;
                    staff_with_accounts += 1;
                    workers.push((id, p.full_name.clone(), unit_name.starts_with("Trung tâm Đăng kiểm")));
                    // Most staff declared this morning; a few report a cough or a fever.
                    if health_rng.gen_bool(0.8) {
                        let symptoms = match health_rng.gen_range(0..100) {
                            0..=2 => vec![Symptom::Cough],
                            3 => vec![Symptom::Fever, Symptom::Cough],
                            _ => Vec::new(),
                        };
                        let me =
                            Actor { user_id: id, session_id: SessionId(0), grants: Vec::new(), meta: meta.clone() };
                        self.declare(&me, Answers { symptoms, ..Answers::default() }).await?;
                        declared += 1;
                    }
                }
                let position = if i == 0 { "Trưởng phòng" } else { people.pick(POSITIONS) };
                lines.push(RosterInput {
                    full_name: p.full_name,
                    position: position.to_owned(),
                    phone: Some(p.phone),
                    cccd: Some(p.cccd),
                });
            }
            staff += lines.len();
            for line in lines {
                self.add_roster_entry(&province_admin, agency, unit, line).await?;
            }
        }
        // The office admin and the checker work at the agency too.
        let office = self.list_units(&province_admin, agency).await?.into_iter().find(|u| u.name == "Văn phòng Sở");
        if let Some(office) = office {
            for (_, _, p) in role_people.iter().filter(|(r, _, _)| matches!(r, Role::AgencyAdmin | Role::Checker)) {
                let line = RosterInput {
                    full_name: p.full_name.clone(),
                    position: "Chuyên viên".into(),
                    phone: Some(p.phone.clone()),
                    cccd: Some(p.cccd.clone()),
                };
                self.add_roster_entry(&province_admin, agency, office.id, line).await?;
                staff += 1;
                staff_with_accounts += 1;
            }
        }
        // Visitors: citizens with accounts who come to the agency for its services.
        let visitors = 40;
        let mut callers = Vec::new();
        for _ in 0..visitors {
            let p = people.person(18, 75);
            let id = self
                .register_with(registration(&p, &staff_password, &mut street_rng), &meta, Some(staff_hash.clone()))
                .await?;
            callers.push((id, p.full_name));
        }
        let places = History { checker: role_people[3].1, checkpoints: checkpoints.clone() };
        let past_visits = self.demo_history(&places, &workers, &callers, seed).await?;
        // The citizen declares for two dependants: a child and an elderly parent, who has declared.
        let (_, citizen_id, citizen) = &role_people[4];
        let guardian = Actor { user_id: *citizen_id, session_id: SessionId(0), grants: Vec::new(), meta: meta.clone() };
        let family_name = citizen.full_name.split_whitespace().next().unwrap_or("Nguyễn").to_owned();
        for (relation, min_age, max_age) in [("child", 6, 12), ("parent", 70, 85)] {
            let p = people.person(min_age, max_age);
            let given: Vec<&str> = p.full_name.split_whitespace().skip(1).collect();
            let full_name =
                if relation == "child" { format!("{family_name} {}", given.join(" ")) } else { p.full_name.clone() };
            let d = self
                .add_dependant(
                    &guardian,
                    crate::dependants::NewDependant {
                        full_name,
                        birth_date: p.birth_date.clone(),
                        sex: p.sex.as_str().to_owned(),
                        cccd: Some(p.cccd.clone()),
                        cmnd: None,
                        relation: relation.to_owned(),
                        address_unit: citizen.ward.clone(),
                        address_street: String::new(),
                    },
                )
                .await?;
            if relation == "parent" {
                self.declare_for(&guardian, d.user_id, Answers::default()).await?;
            }
        }
        let _: UserId = admin_id;
        Ok(DemoSummary {
            accounts,
            staff,
            staff_with_accounts,
            declared,
            visitors,
            checkpoints: checkpoints.len(),
            past_visits,
        })
    }

    /// The last two weeks at the demo agency, through the store's check-in path, so that the
    /// statistics' trends and the province ranking have days to show and tracing has visits to
    /// read: on each working day before today, most staff with an account arrive at their gate
    /// between 07:00 and 08:15 (some after the working day starts; their visit lasts the gate's
    /// default stay), and a few visitors come to the one-stop desk for 10 to 40 minutes. Today is
    /// left empty, for whoever tries the demo. Returns how many visits it made.
    async fn demo_history(
        &self,
        places: &History,
        workers: &[(UserId, String, bool)],
        callers: &[(UserId, String)],
        seed: u64,
    ) -> Result<usize, AppError> {
        use chrono::Datelike;

        let mut rng = StdRng::seed_from_u64(seed ^ 0x0715);
        let today = vaora_domain::time::vietnam_day(self.now());
        let mut visits = std::collections::HashSet::new();
        for day in today - 14..today {
            if vaora_domain::time::day_date(day).weekday().number_from_monday() > 5 {
                continue;
            }
            let midnight = crate::visit_pack::day_start(i64::from(day));
            let at = |minutes: i64| vaora_domain::Timestamp(midnight + minutes * 60_000);
            let mut scans = Vec::new();
            for (user, name, inspection) in workers {
                if !rng.gen_bool(0.9) {
                    continue;
                }
                let gate = if *inspection { 3 } else { 0 };
                let declared = rng.gen_bool(0.85);
                scans.push(places.scan(gate, *user, name, at(7 * 60 + rng.gen_range(0..75)), declared));
            }
            for (user, name) in callers.choose_multiple(&mut rng, 8) {
                let from = 8 * 60 + rng.gen_range(0..8 * 60);
                let declared = rng.gen_bool(0.7);
                scans.push(places.scan(1, *user, name, at(from), declared));
                scans.push(places.scan(1, *user, name, at(from + rng.gen_range(10..40)), declared));
            }
            scans.sort_by_key(|w| w.scanned_at);
            for (n, w) in scans.iter_mut().enumerate() {
                w.client_id = format!("demo-{day}-{n}");
            }
            // A desk's second scan names the visit it ended: count visits, not scans.
            visits.extend(self.store.record_scans(scans).await?.into_iter().filter_map(|o| o.visit_id));
        }
        Ok(visits.len())
    }
}

/// Where the demo's history happens: its checkpoints (as [`CHECKPOINTS`]); the checker scans
/// passes at the two they are assigned to, and people check themselves in at the others.
struct History {
    checker: UserId,
    checkpoints: Vec<vaora_domain::CheckpointId>,
}

impl History {
    /// A scan of `user` at the `n`th checkpoint, green if they declared that morning and amber
    /// otherwise, as the default status rules would have it.
    fn scan(&self, n: usize, user: UserId, full_name: &str, at: vaora_domain::Timestamp, declared: bool) -> ScanWrite {
        let (_, mode, stay_minutes) = CHECKPOINTS[n];
        let checked = n < 2;
        ScanWrite {
            client_id: String::new(),
            checker: checked.then_some(self.checker),
            checkpoint_id: self.checkpoints[n],
            mode: CheckpointMode::parse(mode).unwrap_or(CheckpointMode::Both),
            stay_ms: stay_minutes * 60_000,
            user_id: Some(user),
            scanned_at: at,
            received_at: at.plus_seconds(2),
            kind: if checked { "pass" } else { "self" },
            pass_digest: None,
            answer: ScanAnswer {
                colour: if declared { "green" } else { "amber" }.to_owned(),
                reason: (!declared).then(|| "no_declaration".to_owned()),
                display_name: Some(crate::checkins::display_name(full_name)),
                rule: Some(if declared { "declared_well" } else { "no_declaration" }.to_owned()),
                declared_until: declared.then(|| at.plus_seconds(20 * 3_600)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_passwords_are_always_long_enough() {
        // A password of one repeated syllable ("mu-mu-mu" → "mu-0042") was once refused.
        for seed in 0..20_000 {
            let p = demo_password(&mut StdRng::seed_from_u64(seed));
            assert!(p.len() >= 13 && vaora_domain::password::NewPassword::parse(&p, None).is_ok(), "{p}");
        }
    }
}
