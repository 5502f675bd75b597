//! The store conformance suite: every method of the storage traits, run against SQLite and
//! PostgreSQL alike, each case on a fresh database. Both engines must give the same answers.
//!
//! Ids are never assumed to be particular numbers: PostgreSQL spends identity values on failed
//! inserts and SQLite does not.
#![expect(clippy::unwrap_used, reason = "a failed step stops the test where it failed")]

use std::sync::Arc;

use serde_json::json;
use vaora_app::audit::expected_hash;
use vaora_app::store::*;
use vaora_domain::audit::GENESIS_HASH;
use vaora_domain::org::CheckpointMode;
use vaora_domain::person::FullName;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, SessionId, Timestamp, UnitId, UserId};
use vaora_testkit::TestDb;

/// Values and short-hands shared by the cases.
mod fixtures {
    use super::*;

    /// 2023-11-14T22:13:20Z: every time in the suite is an offset from it.
    pub const T0: Timestamp = Timestamp(1_700_000_000_000);

    /// `T0` plus `ms` milliseconds.
    pub fn t(ms: i64) -> Timestamp {
        Timestamp(T0.0 + ms)
    }

    /// A stand-in for a keyed look-up hash.
    pub fn hash(what: &str) -> Vec<u8> {
        format!("hash:{what}").into_bytes()
    }

    /// A stand-in for a sealed value.
    pub fn sealed(what: &str) -> Vec<u8> {
        format!("sealed:{what}").into_bytes()
    }

    pub fn audit(action: &'static str, target_kind: &'static str) -> AuditRecord {
        AuditRecord {
            at: T0,
            actor: None,
            ip: Some("203.0.113.7".to_owned()),
            action,
            target_kind,
            target_id: None,
            subject: None,
            details: json!({ "case": action, "n": 1 }),
        }
    }

    /// An account whose phone is `phone:{tag}` and CCCD `cccd:{tag}`, without CMND.
    pub fn new_user(tag: &str, full_name: &str) -> NewUser {
        NewUser {
            kind: "account",
            phone_sealed: Some(sealed(&format!("phone:{tag}"))),
            phone_hash: Some(hash(&format!("phone:{tag}"))),
            cccd_sealed: Some(sealed(&format!("cccd:{tag}"))),
            cccd_hash: Some(hash(&format!("cccd:{tag}"))),
            cmnd_sealed: None,
            cmnd_hash: None,
            full_name: full_name.to_owned(),
            name_key: FullName::parse(full_name).unwrap().search_key(),
            birth_date: "1990-05-17".to_owned(),
            sex: "female".to_owned(),
            address_scheme: "current".to_owned(),
            address_unit: "19756".to_owned(),
            address_street: "12 Lê Lợi".to_owned(),
            password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$salt${tag}")),
            created_at: T0,
            registered_by: None,
        }
    }

    /// A dependant's account: no phone, CCCD or password of its own.
    pub fn new_dependant(tag: &str, full_name: &str) -> NewUser {
        NewUser {
            kind: "dependant",
            phone_sealed: None,
            phone_hash: None,
            cccd_sealed: None,
            cccd_hash: None,
            password_hash: None,
            ..new_user(tag, full_name)
        }
    }

    pub async fn user(s: &Arc<dyn Store>, tag: &str, full_name: &str) -> UserId {
        s.create_user(new_user(tag, full_name), audit("user_registered", "user")).await.unwrap()
    }

    pub async fn agency(s: &Arc<dyn Store>, code: &str, name: &str) -> AgencyId {
        let agency = NewAgency {
            name: name.to_owned(),
            code: code.to_owned(),
            address_scheme: "current".to_owned(),
            address_unit: "19756".to_owned(),
            address_street: "2 Trần Hưng Đạo".to_owned(),
            created_at: T0,
        };
        s.create_agency(agency, audit("agency_created", "agency")).await.unwrap()
    }

    pub async fn unit(s: &Arc<dyn Store>, agency: AgencyId, name: &str) -> UnitId {
        s.create_unit(agency, None, name, audit("unit_created", "unit")).await.unwrap()
    }

    /// A roster line naming phone `phone:{phone}` and CCCD `cccd:{cccd}`, so that it matches the
    /// account made by `new_user` with the same tag.
    pub fn line(full_name: &str, phone: Option<&str>, cccd: Option<&str>) -> NewRosterEntry {
        NewRosterEntry {
            full_name: full_name.to_owned(),
            position: "Chuyên viên".to_owned(),
            phone_sealed: phone.map(|p| sealed(&format!("phone:{p}"))),
            phone_hash: phone.map(|p| hash(&format!("phone:{p}"))),
            cccd_sealed: cccd.map(|c| sealed(&format!("cccd:{c}"))),
            cccd_hash: cccd.map(|c| hash(&format!("cccd:{c}"))),
        }
    }

    pub async fn add_lines(s: &Arc<dyn Store>, lines: Vec<(UnitId, NewRosterEntry)>) -> Vec<RosterEntryId> {
        s.add_roster_entries(lines, t(50), audit("roster_added", "unit")).await.unwrap()
    }

    pub fn fields(name: &str, mode: CheckpointMode) -> CheckpointFields {
        CheckpointFields {
            name: name.to_owned(),
            address_street: "2 Trần Hưng Đạo".to_owned(),
            mode,
            default_stay_minutes: 120,
            active: true,
        }
    }

    pub async fn checkpoint(s: &Arc<dyn Store>, agency: AgencyId, name: &str) -> CheckpointId {
        s.create_checkpoint(agency, fields(name, CheckpointMode::Both), t(1), audit("checkpoint_created", "checkpoint"))
            .await
            .unwrap()
    }

    pub fn new_session(user: UserId, token: &str, created_at: Timestamp, expires_at: Timestamp) -> NewSession {
        NewSession {
            user_id: user,
            token_hash: hash(&format!("token:{token}")),
            kind: "web",
            label: format!("Firefox ({token})"),
            ip: Some("198.51.100.4".to_owned()),
            created_at,
            expires_at,
        }
    }

    pub async fn session(
        s: &Arc<dyn Store>,
        user: UserId,
        token: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> SessionId {
        s.create_session(new_session(user, token, created_at, expires_at), audit("session_created", "session"))
            .await
            .unwrap()
    }

    /// The newest entry's sequence number, 0 for an empty log.
    pub async fn last_seq(s: &Arc<dyn Store>) -> i64 {
        latest(s).await.map_or(0, |e| e.seq)
    }

    pub async fn latest(s: &Arc<dyn Store>) -> Option<AuditEntry> {
        let newest = s.audit_entries(AuditFilter { limit: 1, ..AuditFilter::default() }).await.unwrap();
        newest.into_iter().next()
    }

    pub async fn whole_chain(s: &Arc<dyn Store>) -> Vec<AuditEntry> {
        s.audit_chain(1, 100_000).await.unwrap()
    }

    /// Asserts that the entries are 1, 2, 3, … each linked to the one before and hashed right.
    pub fn assert_chain_intact(chain: &[AuditEntry]) {
        let mut prev = GENESIS_HASH.to_owned();
        for (i, e) in chain.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "the chain has a gap or is out of order");
            assert_eq!(e.prev_hash, prev, "entry {} does not link to the one before", e.seq);
            assert_eq!(expected_hash(e), e.hash, "entry {} is not hashed right", e.seq);
            assert_eq!(e.hash.len(), 64);
            prev = e.hash.clone();
        }
    }

    pub fn seqs(entries: &[AuditEntry]) -> Vec<i64> {
        entries.iter().map(|e| e.seq).collect()
    }

    pub async fn roster_ids(s: &Arc<dyn Store>, agency: AgencyId) -> Vec<RosterEntryId> {
        s.roster_of_agency(agency).await.unwrap().into_iter().map(|r| r.id).collect()
    }

    pub async fn linked_user(s: &Arc<dyn Store>, agency: AgencyId, id: RosterEntryId) -> Option<UserId> {
        let roster = s.roster_of_agency(agency).await.unwrap();
        roster.into_iter().find(|r| r.id == id).unwrap().user_id
    }

    // ---- check-ins ----

    /// A minute and an hour, in milliseconds.
    pub const MIN: i64 = 60_000;
    pub const HOUR: i64 = 60 * MIN;

    /// A signing key made at `created_at`, active and verifying indefinitely.
    pub fn key(id: u16, purpose: &str, created_at: Timestamp) -> SigningKeyRecord {
        SigningKeyRecord {
            id,
            purpose: purpose.to_owned(),
            public_key: id.to_be_bytes().repeat(16),
            private_sealed: sealed(&format!("key:{id}")),
            created_at,
            sign_until: None,
            verify_until: None,
        }
    }

    /// An answer; a green or amber one is a valid code's, with the status rule and the end of
    /// the holder's declaration, a red one a refused code's.
    pub fn answer(colour: &str, reason: Option<&str>) -> ScanAnswer {
        let judged = colour != "red";
        ScanAnswer {
            colour: colour.to_owned(),
            reason: reason.map(str::to_owned),
            display_name: Some("A. An".to_owned()),
            rule: judged.then(|| reason.unwrap_or("declared_well").to_owned()),
            declared_until: judged.then_some(Timestamp(1_800_000_000_000)),
        }
    }

    /// A green pass scan of `user` at `at`, for a checkpoint in `mode` with a one-hour stay.
    pub fn scan(id: &str, checkpoint: CheckpointId, mode: CheckpointMode, user: UserId, at: Timestamp) -> ScanWrite {
        ScanWrite {
            client_id: id.to_owned(),
            checker: None,
            checkpoint_id: checkpoint,
            mode,
            stay_ms: HOUR,
            user_id: Some(user),
            scanned_at: at,
            received_at: Timestamp(at.0 + 5_000),
            kind: "pass",
            pass_digest: None,
            answer: answer("green", None),
        }
    }

    /// Records one scan.
    pub async fn record(s: &Arc<dyn Store>, w: ScanWrite) -> ScanOutcome {
        let mut outcomes = s.record_scans(vec![w]).await.unwrap();
        assert_eq!(outcomes.len(), 1);
        outcomes.remove(0)
    }

    /// Records one scan and returns the visit it made, which it must have made.
    pub async fn visit_of(s: &Arc<dyn Store>, w: ScanWrite) -> i64 {
        let outcome = record(s, w).await;
        assert!(!outcome.resubmitted);
        outcome.visit_id.unwrap()
    }

    pub fn visit(
        id: i64,
        user_id: UserId,
        checkpoint_id: CheckpointId,
        started_at: i64,
        ended_at: i64,
        end_reason: &str,
    ) -> VisitRecord {
        VisitRecord {
            id,
            user_id,
            checkpoint_id,
            started_at: t(started_at),
            ended_at: t(ended_at),
            end_reason: end_reason.to_owned(),
        }
    }

    /// Every visit of a person, newest first.
    pub async fn visits(s: &Arc<dyn Store>, user: UserId) -> Vec<VisitRecord> {
        s.visits_of(user, Timestamp(0), Timestamp(i64::MAX)).await.unwrap()
    }

    /// How many stored scans match `condition`: an UPDATE that changes nothing reports them on both
    /// engines (`execute_raw` returns no values).
    pub async fn scan_rows(db: &TestDb, condition: &str) -> u64 {
        db.execute_raw(&format!("UPDATE scans SET kind = kind WHERE {condition}")).await.unwrap()
    }
}

/// One function per behaviour, each given a fresh database; `each_engine!` below runs every one
/// on both engines.
mod cases {
    use super::fixtures::*;
    use super::*;

    // ---- accounts ----

    pub async fn create_user_stores_every_field(db: TestDb) {
        let s = &db.store;
        let mut u = new_user("1", "Đặng Thị Ngọc Ánh");
        u.cmnd_sealed = Some(sealed("cmnd:1"));
        u.cmnd_hash = Some(hash("cmnd:1"));
        u.created_at = Timestamp(1_700_000_000_123);
        let id = s.create_user(u.clone(), audit("user_registered", "user")).await.unwrap();
        let expected = UserRecord {
            id,
            kind: "account".into(),
            phone_sealed: u.phone_sealed,
            cccd_sealed: u.cccd_sealed,
            cmnd_sealed: u.cmnd_sealed,
            full_name: u.full_name,
            birth_date: u.birth_date,
            sex: u.sex,
            address_scheme: u.address_scheme,
            address_unit: u.address_unit,
            address_street: u.address_street,
            created_at: Timestamp(1_700_000_000_123),
            verified_at: None,
            verified_by: None,
            verification_method: None,
        };
        assert_eq!(s.user(id).await.unwrap(), Some(expected));
        assert_eq!(s.user(UserId(id.0 + 1000)).await.unwrap(), None);
    }

    pub async fn create_user_audits_the_account_as_its_own_actor(db: TestDb) {
        let s = &db.store;
        let mut record = audit("user_registered", "user");
        record.target_id = Some("overwritten".to_owned());
        let id = s.create_user(new_user("1", "Nguyễn Văn An"), record).await.unwrap();
        let e = latest(s).await.unwrap();
        assert_eq!((e.seq, e.action.as_str(), e.target_kind.as_str()), (1, "user_registered", "user"));
        assert_eq!(e.target_id, Some(id.to_string()));
        assert_eq!(e.subject, Some(id));
        assert_eq!(e.actor, Some(id), "self-registration is acted by the new account");
        assert_eq!((e.at, e.ip.as_deref()), (T0, Some("203.0.113.7")));
        assert_eq!(e.details, json!({ "case": "user_registered", "n": 1 }).to_string());

        // Registered by an officer: the officer stays the actor, the new account is the subject.
        let mut by_officer = audit("user_registered", "user");
        by_officer.actor = Some(id);
        let other = s.create_user(new_user("2", "Trần Thị Bình"), by_officer).await.unwrap();
        let e = latest(s).await.unwrap();
        assert_eq!((e.actor, e.subject, e.target_id), (Some(id), Some(other), Some(other.to_string())));
    }

    pub async fn create_user_refuses_a_taken_phone_cccd_or_cmnd(db: TestDb) {
        let s = &db.store;
        let mut first = new_user("1", "Nguyễn Văn An");
        first.cmnd_sealed = Some(sealed("cmnd:1"));
        first.cmnd_hash = Some(hash("cmnd:1"));
        s.create_user(first.clone(), audit("user_registered", "user")).await.unwrap();
        let seq = last_seq(s).await;

        let mut same_phone = new_user("2", "Trần Thị Bình");
        same_phone.phone_hash = first.phone_hash.clone();
        let mut same_cccd = new_user("3", "Lê Văn Cường");
        same_cccd.cccd_hash = first.cccd_hash.clone();
        let mut same_cmnd = new_user("4", "Phạm Thị Dung");
        same_cmnd.cmnd_hash = first.cmnd_hash.clone();
        for (dup, clash) in [(same_phone, "phone"), (same_cccd, "cccd"), (same_cmnd, "cmnd")] {
            let result = s.create_user(dup, audit("user_registered", "user")).await;
            assert_eq!(result, Err(StoreError::Conflict(clash)));
        }

        // Nothing of the failed attempts is left: no account, no audit entry.
        assert_eq!(s.user_id_by_lookup("cccd", &hash("cccd:2")).await.unwrap(), None);
        assert_eq!(s.user_id_by_lookup("phone", &hash("phone:3")).await.unwrap(), None);
        assert_eq!(s.user_id_by_lookup("phone", &hash("phone:4")).await.unwrap(), None);
        assert_eq!(s.search_users("", 100).await.unwrap().len(), 1);
        assert_eq!(last_seq(s).await, seq);

        // And the store carries on.
        user(s, "5", "Võ Văn Em").await;
        assert_eq!(last_seq(s).await, seq + 1);
    }

    pub async fn accounts_without_cccd_or_cmnd_coexist(db: TestDb) {
        let s = &db.store;
        let mut ids = Vec::new();
        for tag in ["1", "2", "3"] {
            let mut u = new_user(tag, "Nguyễn Văn An");
            u.cccd_sealed = None;
            u.cccd_hash = None;
            ids.push(s.create_user(u, audit("user_registered", "user")).await.unwrap());
        }
        ids.dedup();
        assert_eq!(ids.len(), 3);
    }

    pub async fn registering_links_roster_lines_added_before(db: TestDb) {
        let s = &db.store;
        let agency = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (a, b) = (unit(s, agency, "Phòng A").await, unit(s, agency, "Phòng B").await);
        let lines = add_lines(
            s,
            vec![
                (a, line("Nguyễn Văn An", Some("an"), None)),
                (b, line("Nguyễn Văn An", None, Some("an"))),
                (a, line("Trần Thị Bình", Some("binh"), Some("binh"))),
                // Names Bình's phone and Chi's CCCD: whoever registers first gets it.
                (b, line("Trần Thị Bình", Some("binh"), Some("chi"))),
                (a, line("Không Có Số", None, None)),
            ],
        )
        .await;
        for id in &lines {
            assert_eq!(linked_user(s, agency, *id).await, None);
        }

        let an = user(s, "an", "Nguyễn Văn An").await;
        assert_eq!(linked_user(s, agency, lines[0]).await, Some(an), "linked by phone");
        assert_eq!(linked_user(s, agency, lines[1]).await, Some(an), "linked by CCCD");
        assert_eq!(linked_user(s, agency, lines[2]).await, None);

        let binh = user(s, "binh", "Trần Thị Bình").await;
        let chi = user(s, "chi", "Lê Thị Chi").await;
        assert_eq!(linked_user(s, agency, lines[2]).await, Some(binh));
        assert_eq!(linked_user(s, agency, lines[3]).await, Some(binh), "a linked line is not taken over");
        assert_ne!(binh, chi);
        assert_eq!(linked_user(s, agency, lines[4]).await, None);
    }

    pub async fn roster_lines_added_after_registration_are_linked(db: TestDb) {
        let s = &db.store;
        let an = user(s, "an", "Nguyễn Văn An").await;
        let binh = user(s, "binh", "Trần Thị Bình").await;
        let agency = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (a, b) = (unit(s, agency, "Phòng A").await, unit(s, agency, "Phòng B").await);
        let lines = add_lines(
            s,
            vec![
                (a, line("Nguyễn Văn An", Some("an"), None)),
                (a, line("Trần Thị Bình", None, Some("binh"))),
                (a, line("Người Lạ", Some("nobody"), Some("nobody"))),
                (a, line("Không Có Số", None, None)),
                // Phone of one account, CCCD of another: the older account.
                (b, line("Nguyễn Văn An", Some("an"), Some("binh"))),
            ],
        )
        .await;
        let mut got = Vec::new();
        for id in lines {
            got.push(linked_user(s, agency, id).await);
        }
        assert_eq!(got, [Some(an), Some(binh), None, None, Some(an)]);
    }

    /// A person registering while their office adds them to the roster: whichever commits second
    /// must see the other, so the line always ends up linked (SQLite has one writer; PostgreSQL
    /// must not let the two transactions miss each other).
    pub async fn registering_while_being_rostered_always_links(db: TestDb) {
        let s = &db.store;
        let agency = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let unit = unit(s, agency, "Phòng A").await;
        let mut tasks = Vec::new();
        for i in 0..30 {
            let tag = format!("p{i}");
            let (registering, rostering) = (Arc::clone(s), Arc::clone(s));
            let (tag1, tag2) = (tag.clone(), tag);
            tasks.push(tokio::spawn(async move {
                registering
                    .create_user(new_user(&tag1, "Nguyễn Văn An"), audit("user_registered", "user"))
                    .await
                    .unwrap();
            }));
            tasks.push(tokio::spawn(async move {
                let line = line("Nguyễn Văn An", Some(&tag2), None);
                rostering.add_roster_entries(vec![(unit, line)], t(1), audit("roster_added", "unit")).await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let roster = s.roster_of_agency(agency).await.unwrap();
        assert_eq!(roster.len(), 30);
        let unlinked = roster.iter().filter(|r| r.user_id.is_none()).count();
        assert_eq!(unlinked, 0, "{unlinked} roster lines missed the account registered at the same time");
    }

    pub async fn credentials_are_found_by_phone_hash(db: TestDb) {
        let s = &db.store;
        let id = user(s, "1", "Nguyễn Văn An").await;
        let expected =
            Credentials { user_id: id, password_hash: new_user("1", "Nguyễn Văn An").password_hash.unwrap() };
        assert_eq!(s.credentials_by_phone(&hash("phone:1")).await.unwrap(), Some(expected));
        assert_eq!(s.credentials_by_phone(&hash("phone:2")).await.unwrap(), None);
        assert_eq!(s.credentials_by_phone(&hash("cccd:1")).await.unwrap(), None);
        // A walk-in registered at a gate has a phone but no password: nobody signs in as them.
        let mut walk_in = new_user("3", "Lê Văn Cường");
        walk_in.kind = "walk_in";
        walk_in.password_hash = None;
        walk_in.registered_by = Some(id);
        let w = s.create_user(walk_in, audit("walk_in_registered", "user")).await.unwrap();
        assert_eq!(s.credentials_by_phone(&hash("phone:3")).await.unwrap(), None);
        assert_eq!(s.user(w).await.unwrap().unwrap().kind, "walk_in");
        assert_eq!(s.user_id_by_lookup("phone", &hash("phone:3")).await.unwrap(), Some(w));
        // One without a phone; an account must have both a phone and a password.
        let mut no_phone = new_user("4", "Phạm Thị Dung");
        no_phone.kind = "walk_in";
        (no_phone.phone_sealed, no_phone.phone_hash, no_phone.password_hash) = (None, None, None);
        let d = s.create_user(no_phone, audit("walk_in_registered", "user")).await.unwrap();
        assert_eq!(s.user(d).await.unwrap().unwrap().phone_sealed, None);
        let mut broken = new_user("5", "Võ Văn Em");
        broken.password_hash = None;
        assert!(
            s.create_user(broken, audit("user_registered", "user")).await.is_err(),
            "an account without a password"
        );
    }

    pub async fn user_ids_are_found_by_each_lookup_kind(db: TestDb) {
        let s = &db.store;
        let mut u = new_user("1", "Nguyễn Văn An");
        u.cmnd_sealed = Some(sealed("cmnd:1"));
        u.cmnd_hash = Some(hash("cmnd:1"));
        let id = s.create_user(u, audit("user_registered", "user")).await.unwrap();
        user(s, "2", "Trần Thị Bình").await;

        assert_eq!(s.user_id_by_lookup("phone", &hash("phone:1")).await.unwrap(), Some(id));
        assert_eq!(s.user_id_by_lookup("cccd", &hash("cccd:1")).await.unwrap(), Some(id));
        assert_eq!(s.user_id_by_lookup("cmnd", &hash("cmnd:1")).await.unwrap(), Some(id));
        // A hash only matches in its own column.
        assert_eq!(s.user_id_by_lookup("phone", &hash("cccd:1")).await.unwrap(), None);
        assert_eq!(s.user_id_by_lookup("cccd", &hash("phone:1")).await.unwrap(), None);
        assert_eq!(s.user_id_by_lookup("phone", &hash("phone:9")).await.unwrap(), None);
        assert_eq!(s.user_id_by_lookup("email", &hash("phone:1")).await.unwrap(), None);
    }

    pub async fn search_matches_a_substring_of_the_key(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let cuc = user(s, "3", "Nguyễn Thị Cúc").await;
        let pham = user(s, "4", "Phạm Nguyên").await;
        let an2 = user(s, "5", "Nguyễn Văn An").await;
        s.mark_verified(cuc, None, "vneid", t(1), audit("identity_verified", "user")).await.unwrap();

        let found = s.search_users("nguyen", 10).await.unwrap();
        let summary = |id, name: &str, verified| UserSummary { id, full_name: name.to_owned(), verified };
        assert_eq!(
            found,
            [
                summary(cuc, "Nguyễn Thị Cúc", true),
                summary(an, "Nguyễn Văn An", false),
                summary(an2, "Nguyễn Văn An", false),
                summary(pham, "Phạm Nguyên", false),
            ],
            "ordered by key, then id"
        );
        let ids = |v: Vec<UserSummary>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
        assert_eq!(ids(s.search_users("thi", 10).await.unwrap()), [cuc, binh]);
        assert_eq!(ids(s.search_users("van an", 10).await.unwrap()), [an, an2]);
        assert_eq!(ids(s.search_users("nguyen", 2).await.unwrap()), [cuc, an]);
        assert_eq!(ids(s.search_users("nguyen", 0).await.unwrap()), []);
        assert_eq!(ids(s.search_users("zz", 10).await.unwrap()), []);
        // SQLite's LIKE ignores ASCII case, and the PostgreSQL store matches it.
        assert_eq!(ids(s.search_users("NGUYEN THI", 10).await.unwrap()), [cuc]);
    }

    pub async fn search_treats_wildcards_as_plain_text(db: TestDb) {
        let s = &db.store;
        user(s, "1", "Nguyễn Văn An").await;
        user(s, "2", "Lê Bảo").await;
        for query in ["n_uyen", "ng%an", "l_ bao", "%e b%o", "%", "_", "\\"] {
            assert_eq!(s.search_users(query, 10).await.unwrap(), [], "{query:?} must not act as a pattern");
        }
    }

    pub async fn mark_verified_records_who_and_how(db: TestDb) {
        let s = &db.store;
        let officer = user(s, "1", "Lê Thị Lan").await;
        let citizen = user(s, "2", "Nguyễn Văn An").await;
        let mut record = audit("identity_verified", "user");
        record.actor = Some(officer);
        record.subject = Some(citizen);
        record.target_id = Some(citizen.to_string());
        s.mark_verified(citizen, Some(officer), "in_person", t(5_000), record).await.unwrap();

        let got = s.user(citizen).await.unwrap().unwrap();
        assert_eq!(got.verified_at, Some(t(5_000)));
        assert_eq!(got.verified_by, Some(officer));
        assert_eq!(got.verification_method.as_deref(), Some("in_person"));
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.actor, e.subject), ("identity_verified", Some(officer), Some(citizen)));
        assert_eq!(e.target_id, Some(citizen.to_string()));

        // A check by an external service has no officer.
        s.mark_verified(officer, None, "vneid", t(6_000), audit("identity_verified", "user")).await.unwrap();
        let got = s.user(officer).await.unwrap().unwrap();
        assert_eq!((got.verified_at, got.verified_by), (Some(t(6_000)), None));
        assert_eq!(got.verification_method.as_deref(), Some("vneid"));

        let seq = last_seq(s).await;
        let missing = UserId(citizen.0 + officer.0 + 1000);
        let result = s.mark_verified(missing, None, "vneid", t(7_000), audit("identity_verified", "user")).await;
        assert_eq!(result, Err(StoreError::NotFound));
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn set_password_replaces_the_hash_and_ends_every_session(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        session(s, an, "a1", T0, t(3_600_000)).await;
        session(s, an, "a2", T0, t(3_600_000)).await;
        session(s, binh, "b1", T0, t(3_600_000)).await;

        let mut record = audit("password_changed", "user");
        record.at = t(10);
        s.set_password(an, "$argon2id$new", record).await.unwrap();

        let credentials = s.credentials_by_phone(&hash("phone:1")).await.unwrap().unwrap();
        assert_eq!(credentials.password_hash, "$argon2id$new");
        assert_eq!(s.session_by_token(&hash("token:a1"), t(20)).await.unwrap(), None);
        assert_eq!(s.session_by_token(&hash("token:a2"), t(20)).await.unwrap(), None);
        assert_eq!(s.sessions_of(an, t(20)).await.unwrap(), []);
        assert!(s.session_by_token(&hash("token:b1"), t(20)).await.unwrap().is_some(), "others' sessions live on");
        assert_eq!(latest(s).await.unwrap().action, "password_changed");

        let seq = last_seq(s).await;
        let missing = UserId(an.0 + binh.0 + 1000);
        assert_eq!(s.set_password(missing, "x", audit("password_changed", "user")).await, Err(StoreError::NotFound));
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn sessions_are_found_by_token_until_they_expire(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let expires = t(3_600_000);
        let id = session(s, an, "a1", T0, expires).await;
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id.clone()), ("session_created", Some(id.to_string())));

        let expected = SessionRecord {
            id,
            user_id: an,
            kind: "web".to_owned(),
            label: "Firefox (a1)".to_owned(),
            ip: Some("198.51.100.4".to_owned()),
            created_at: T0,
            expires_at: expires,
        };
        assert_eq!(s.session_by_token(&hash("token:a1"), t(1)).await.unwrap(), Some(expected.clone()));
        assert_eq!(s.session_by_token(&hash("token:a1"), Timestamp(expires.0 - 1)).await.unwrap(), Some(expected));
        assert_eq!(s.session_by_token(&hash("token:a1"), expires).await.unwrap(), None, "expired at its end");
        assert_eq!(s.session_by_token(&hash("token:zz"), t(1)).await.unwrap(), None);

        let mut api = new_session(an, "api", T0, expires);
        api.kind = "api";
        api.ip = None;
        s.create_session(api, audit("session_created", "session")).await.unwrap();
        let got = s.session_by_token(&hash("token:api"), t(1)).await.unwrap().unwrap();
        assert_eq!((got.kind.as_str(), got.ip), ("api", None));
    }

    pub async fn sessions_of_lists_live_sessions_newest_first(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let first = session(s, an, "1", T0, t(10_000)).await;
        let second = session(s, an, "2", t(1_000), t(100_000)).await;
        let third = session(s, an, "3", t(1_000), t(100_000)).await;
        session(s, an, "old", T0, t(500)).await;
        session(s, binh, "b", t(1_500), t(100_000)).await;

        let ids = |v: Vec<SessionRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(s.sessions_of(an, t(2_000)).await.unwrap()), [third, second, first]);
        assert_eq!(ids(s.sessions_of(an, t(20_000)).await.unwrap()), [third, second]);
        assert_eq!(ids(s.sessions_of(an, t(100_000)).await.unwrap()), []);
    }

    pub async fn a_token_hash_is_unique(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        session(s, an, "same", T0, t(10_000)).await;
        let seq = last_seq(s).await;
        let again =
            s.create_session(new_session(an, "same", t(1), t(20_000)), audit("session_created", "session")).await;
        assert_eq!(again, Err(StoreError::Conflict("record")));
        assert_eq!(last_seq(s).await, seq);
        assert_eq!(s.sessions_of(an, t(2)).await.unwrap().len(), 1);
    }

    pub async fn revoke_session_ends_only_the_owners_live_session(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let mine = session(s, an, "a", T0, t(100_000)).await;
        let short = session(s, an, "short", T0, t(100)).await;
        let theirs = session(s, binh, "b", T0, t(100_000)).await;
        let seq = last_seq(s).await;
        let revoke = || {
            let mut record = audit("session_revoked", "session");
            record.at = t(1_000);
            record
        };

        assert_eq!(s.revoke_session(an, theirs, revoke()).await, Err(StoreError::NotFound));
        assert!(s.session_by_token(&hash("token:b"), t(1_000)).await.unwrap().is_some());
        assert_eq!(s.revoke_session(an, short, revoke()).await, Err(StoreError::NotFound), "already expired");
        assert_eq!(last_seq(s).await, seq);

        s.revoke_session(an, mine, revoke()).await.unwrap();
        assert_eq!(s.session_by_token(&hash("token:a"), t(1_001)).await.unwrap(), None);
        assert_eq!(latest(s).await.unwrap().action, "session_revoked");
        assert_eq!(s.revoke_session(an, mine, revoke()).await, Err(StoreError::NotFound), "already revoked");
        assert_eq!(last_seq(s).await, seq + 1);
    }

    pub async fn grants_are_added_once_listed_and_removed(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let agency = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let c1 = checkpoint(s, agency, "Cổng chính").await;
        let c2 = checkpoint(s, agency, "Cổng phụ").await;
        for grant in [
            Grant::ProvinceAdmin,
            Grant::Checker { checkpoint_id: c2 },
            Grant::AgencyAdmin { agency_id: agency },
            Grant::Checker { checkpoint_id: c1 },
            Grant::HealthOfficial,
        ] {
            let seq = last_seq(s).await;
            s.add_grant(an, grant, audit("role_granted", "user")).await.unwrap();
            assert_eq!(latest(s).await.unwrap().seq, seq + 1);
        }
        let all = vec![
            Grant::AgencyAdmin { agency_id: agency },
            Grant::Checker { checkpoint_id: c1 },
            Grant::Checker { checkpoint_id: c2 },
            Grant::HealthOfficial,
            Grant::ProvinceAdmin,
        ];
        assert_eq!(s.grants_of(an).await.unwrap(), all, "by role, then scope");
        assert_eq!(s.grants_of(binh).await.unwrap(), []);

        // Granting again changes nothing but is still recorded as an attempt.
        let seq = last_seq(s).await;
        s.add_grant(an, Grant::Checker { checkpoint_id: c1 }, audit("role_granted", "user")).await.unwrap();
        assert_eq!(s.grants_of(an).await.unwrap(), all);
        assert_eq!(last_seq(s).await, seq + 1);

        s.remove_grant(an, Grant::Checker { checkpoint_id: c1 }, audit("role_revoked", "user")).await.unwrap();
        assert_eq!(latest(s).await.unwrap().action, "role_revoked");
        let without: Vec<_> = all.iter().filter(|g| **g != Grant::Checker { checkpoint_id: c1 }).cloned().collect();
        assert_eq!(s.grants_of(an).await.unwrap(), without);

        let seq = last_seq(s).await;
        let again = s.remove_grant(an, Grant::Checker { checkpoint_id: c1 }, audit("role_revoked", "user")).await;
        assert_eq!(again, Err(StoreError::NotFound));
        let never = s.remove_grant(binh, Grant::HealthOfficial, audit("role_revoked", "user")).await;
        assert_eq!(never, Err(StoreError::NotFound));
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn count_province_admins_counts_accounts(db: TestDb) {
        let s = &db.store;
        assert_eq!(s.count_province_admins().await.unwrap(), 0);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let chi = user(s, "3", "Lê Thị Chi").await;
        for (who, grant) in [
            (an, Grant::ProvinceAdmin),
            (binh, Grant::ProvinceAdmin),
            (binh, Grant::ProvinceAdmin),
            (chi, Grant::HealthOfficial),
        ] {
            s.add_grant(who, grant, audit("role_granted", "user")).await.unwrap();
        }
        assert_eq!(s.count_province_admins().await.unwrap(), 2);
        s.remove_grant(an, Grant::ProvinceAdmin, audit("role_revoked", "user")).await.unwrap();
        assert_eq!(s.count_province_admins().await.unwrap(), 1);
    }

    pub async fn a_grant_for_a_missing_account_or_checkpoint_is_refused(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let seq = last_seq(s).await;
        let no_checkpoint = Grant::Checker { checkpoint_id: CheckpointId(999_999) };
        let result = s.add_grant(an, no_checkpoint, audit("role_granted", "user")).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        let result = s.add_grant(UserId(999_999), Grant::HealthOfficial, audit("role_granted", "user")).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert_eq!(s.grants_of(an).await.unwrap(), []);
        assert_eq!(last_seq(s).await, seq);
    }

    // ---- organisations ----

    pub async fn agencies_are_created_listed_and_unique_by_code(db: TestDb) {
        let s = &db.store;
        let yte = agency(s, "SYT", "Sở Y tế").await;
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id.clone()), ("agency_created", Some(yte.to_string())));
        let ban = agency(s, "BDT", "Ban Dân tộc").await;
        let benh_vien = agency(s, "BVTW", "bệnh viện Trung ương").await;
        let uy_ban = agency(s, "UBND", "Ủy ban nhân dân tỉnh").await;
        let same_name = agency(s, "SYT2", "Sở Y tế").await;

        let expected = AgencyRecord {
            id: yte,
            name: "Sở Y tế".to_owned(),
            code: "SYT".to_owned(),
            address_scheme: "current".to_owned(),
            address_unit: "19756".to_owned(),
            address_street: "2 Trần Hưng Đạo".to_owned(),
            created_at: T0,
        };
        assert_eq!(s.agency(yte).await.unwrap(), Some(expected));
        assert_eq!(s.agency(AgencyId(999_999)).await.unwrap(), None);
        // By name in code point order (SQLite's BINARY), whatever the database's locale.
        let order: Vec<_> = s.agencies().await.unwrap().into_iter().map(|a| a.id).collect();
        assert_eq!(order, [ban, yte, same_name, benh_vien, uy_ban]);

        let seq = last_seq(s).await;
        let dup = NewAgency {
            name: "Sở Y tế mới".to_owned(),
            code: "SYT".to_owned(),
            address_scheme: "current".to_owned(),
            address_unit: "19756".to_owned(),
            address_street: "1 Lê Lợi".to_owned(),
            created_at: T0,
        };
        assert_eq!(
            s.create_agency(dup, audit("agency_created", "agency")).await,
            Err(StoreError::Conflict("agency_code"))
        );
        assert_eq!(s.agencies().await.unwrap().len(), 5);
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn units_are_created_listed_and_unique_by_name_in_an_agency(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let office = unit(s, a, "Văn phòng").await;
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id.clone()), ("unit_created", Some(office.to_string())));
        let staff = unit(s, a, "Phòng Tổ chức").await;
        let desk = s.create_unit(a, Some(office), "Tổ Một cửa", audit("unit_created", "unit")).await.unwrap();
        let it = unit(s, a, "bộ phận CNTT").await;
        let other = unit(s, b, "Văn phòng").await;

        assert_eq!(
            s.unit(desk).await.unwrap(),
            Some(UnitRecord { id: desk, agency_id: a, parent_id: Some(office), name: "Tổ Một cửa".to_owned() })
        );
        assert_eq!(s.unit(other).await.unwrap().map(|u| u.agency_id), Some(b));
        assert_eq!(s.unit(UnitId(999_999)).await.unwrap(), None);
        let order: Vec<_> = s.units_of(a).await.unwrap().into_iter().map(|u| u.id).collect();
        assert_eq!(order, [staff, desk, office, it]);
        assert_eq!(s.units_of(AgencyId(999_999)).await.unwrap(), []);

        let seq = last_seq(s).await;
        let dup = s.create_unit(a, None, "Văn phòng", audit("unit_created", "unit")).await;
        assert_eq!(dup, Err(StoreError::Conflict("unit_name")));
        // The schema's rule is (agency, name): a clash even under another parent.
        let nested = s.create_unit(a, Some(desk), "Văn phòng", audit("unit_created", "unit")).await;
        assert_eq!(nested, Err(StoreError::Conflict("unit_name")));
        assert_eq!(s.units_of(a).await.unwrap().len(), 4);
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn roster_lines_are_added_and_listed_by_unit_and_name(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let (pb, pa) = (unit(s, a, "Phòng B").await, unit(s, a, "Phòng A").await);
        let elsewhere = unit(s, b, "Văn phòng").await;
        let seq = last_seq(s).await;
        let ids = s
            .add_roster_entries(
                vec![
                    (pb, line("Trần Văn Cường", Some("1"), Some("1"))),
                    (pa, line("Nguyễn Văn Zũ", Some("2"), None)),
                    (pb, line("Lê Thị Dung", None, Some("3"))),
                    (pa, line("Nguyễn Văn Zũ", Some("4"), None)),
                    (pb, line("Đỗ Không Số", None, None)),
                    (pb, line("Đỗ Không Số", None, None)),
                    (elsewhere, line("Ở Nơi Khác", Some("1"), Some("1"))),
                ],
                t(50),
                audit("roster_added", "unit"),
            )
            .await
            .unwrap();
        assert_eq!(ids.len(), 7);
        assert_eq!(last_seq(s).await, seq + 1, "one entry for the whole batch");
        assert_eq!(latest(s).await.unwrap().action, "roster_added");

        let roster = s.roster_of_agency(a).await.unwrap();
        assert_eq!(roster.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[1], ids[3], ids[2], ids[0], ids[4], ids[5]]);
        let first = RosterEntryRecord {
            id: ids[0],
            unit_id: pb,
            full_name: "Trần Văn Cường".to_owned(),
            position: "Chuyên viên".to_owned(),
            phone_sealed: Some(sealed("phone:1")),
            cccd_sealed: Some(sealed("cccd:1")),
            user_id: None,
            added_at: t(50),
        };
        assert_eq!(roster.iter().find(|r| r.id == ids[0]), Some(&first));
        let bare = roster.iter().find(|r| r.id == ids[4]).unwrap();
        assert_eq!((bare.phone_sealed.clone(), bare.cccd_sealed.clone()), (None, None));
        assert_eq!(roster_ids(s, b).await, [ids[6]]);
        assert_eq!(roster_ids(s, AgencyId(999_999)).await, []);
    }

    pub async fn a_roster_batch_with_one_duplicate_adds_nothing(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (u1, u2) = (unit(s, a, "Phòng A").await, unit(s, a, "Phòng B").await);
        let existing = add_lines(s, vec![(u1, line("Nguyễn Văn An", Some("p1"), Some("c1")))]).await;
        let seq = last_seq(s).await;

        let batches = [
            (
                vec![
                    (u1, line("Trần Thị Bình", Some("p2"), None)),
                    (u2, line("Nguyễn Văn An", Some("p1"), None)),
                    (u1, line("Nguyễn Văn An", Some("p1"), None)),
                ],
                "roster_phone",
            ),
            (vec![(u2, line("Lê Chi", None, Some("c9"))), (u1, line("Lê Chi", None, Some("c1")))], "roster_cccd"),
            (vec![(u2, line("Hai Lần", Some("p9"), None)), (u2, line("Hai Lần", Some("p9"), None))], "roster_phone"),
        ];
        for (batch, clash) in batches {
            let result = s.add_roster_entries(batch, t(60), audit("roster_added", "unit")).await;
            assert_eq!(result, Err(StoreError::Conflict(clash)));
            assert_eq!(roster_ids(s, a).await, existing, "all or nothing");
            assert_eq!(last_seq(s).await, seq);
        }
        // The same person in another unit is fine.
        add_lines(s, vec![(u2, line("Nguyễn Văn An", Some("p1"), Some("c1")))]).await;
        assert_eq!(roster_ids(s, a).await.len(), 2);
    }

    pub async fn roster_lines_of_a_person_name_their_agencies_and_units(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let (office, desk, clinic) =
            (unit(s, a, "Văn phòng").await, unit(s, a, "Một cửa").await, unit(s, b, "Khoa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        add_lines(
            s,
            vec![
                (clinic, line("Nguyễn Văn An", Some("1"), None)),
                (office, line("Nguyễn Văn An", None, Some("1"))),
                (desk, line("Lê Văn Bình", Some("2"), None)),
            ],
        )
        .await;
        let lines = s.roster_lines_of(an).await.unwrap();
        let got: Vec<(AgencyId, &str, &str, &str)> = lines
            .iter()
            .map(|l| (l.agency_id, l.agency_name.as_str(), l.unit_name.as_str(), l.position.as_str()))
            .collect();
        assert_eq!(
            got,
            [(a, "Sở Giao thông vận tải", "Văn phòng", "Chuyên viên"), (b, "Sở Y tế", "Khoa", "Chuyên viên")],
            "by agency, linked by phone or by CCCD; Bình's line is not An's"
        );
        assert_eq!((lines[0].full_name.as_str(), lines[0].added_at), ("Nguyễn Văn An", t(50)));
        assert_eq!(s.roster_lines_of(user(s, "3", "Trần Thị Chi").await).await.unwrap(), []);
    }

    pub async fn roster_hashes_in_unit_lists_each_kind(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (u1, u2) = (unit(s, a, "Phòng A").await, unit(s, a, "Phòng B").await);
        add_lines(
            s,
            vec![
                (u1, line("Một", Some("p1"), Some("c1"))),
                (u1, line("Hai", Some("p2"), None)),
                (u1, line("Ba", None, Some("c3"))),
                (u1, line("Bốn", None, None)),
                (u2, line("Năm", Some("p9"), None)),
            ],
        )
        .await;
        let sorted = |mut v: Vec<Vec<u8>>| {
            v.sort();
            v
        };
        let phones = sorted(s.roster_hashes_in_unit(u1, "phone").await.unwrap());
        assert_eq!(phones, [hash("phone:p1"), hash("phone:p2")]);
        let cccds = sorted(s.roster_hashes_in_unit(u1, "cccd").await.unwrap());
        assert_eq!(cccds, [hash("cccd:c1"), hash("cccd:c3")]);
        assert_eq!(s.roster_hashes_in_unit(u2, "phone").await.unwrap(), [hash("phone:p9")]);
        assert_eq!(s.roster_hashes_in_unit(u2, "cccd").await.unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(s.roster_hashes_in_unit(u1, "email").await.unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(s.roster_hashes_in_unit(UnitId(999_999), "phone").await.unwrap(), Vec::<Vec<u8>>::new());
    }

    pub async fn remove_roster_entry_is_scoped_to_the_agency(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let u = unit(s, a, "Phòng A").await;
        let ids = add_lines(
            s,
            vec![(u, line("Nguyễn Văn An", Some("1"), None)), (u, line("Trần Thị Bình", Some("2"), None))],
        )
        .await;
        let seq = last_seq(s).await;

        let wrong = s.remove_roster_entry(b, ids[0], audit("roster_removed", "roster_entry")).await;
        assert_eq!(wrong, Err(StoreError::NotFound));
        assert_eq!(roster_ids(s, a).await, ids);
        assert_eq!(last_seq(s).await, seq);

        s.remove_roster_entry(a, ids[0], audit("roster_removed", "roster_entry")).await.unwrap();
        assert_eq!(roster_ids(s, a).await, [ids[1]]);
        assert_eq!(latest(s).await.unwrap().action, "roster_removed");
        let again = s.remove_roster_entry(a, ids[0], audit("roster_removed", "roster_entry")).await;
        assert_eq!(again, Err(StoreError::NotFound));
        assert_eq!(last_seq(s).await, seq + 1);
    }

    pub async fn checkpoints_are_created_updated_and_listed(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let gate_fields =
            CheckpointFields { default_stay_minutes: 60, ..fields("Cổng chính", CheckpointMode::Entry) };
        let gate =
            s.create_checkpoint(a, gate_fields.clone(), t(7), audit("checkpoint_created", "checkpoint")).await.unwrap();
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id.clone()), ("checkpoint_created", Some(gate.to_string())));
        let desk = checkpoint(s, a, "Bộ phận một cửa").await;
        checkpoint(s, b, "Cổng Sở Y tế").await;

        let record = CheckpointRecord { id: gate, agency_id: a, fields: gate_fields, created_at: t(7) };
        assert_eq!(s.checkpoint(gate).await.unwrap(), Some(record));
        assert_eq!(s.checkpoint(CheckpointId(999_999)).await.unwrap(), None);
        let order: Vec<_> = s.checkpoints_of(a).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(order, [desk, gate]);

        let changed = CheckpointFields {
            name: "Cổng phụ".to_owned(),
            address_street: "4 Trần Hưng Đạo".to_owned(),
            mode: CheckpointMode::Exit,
            default_stay_minutes: 30,
            active: false,
        };
        let mut record = audit("checkpoint_updated", "checkpoint");
        record.target_id = Some(gate.to_string());
        s.update_checkpoint(gate, changed.clone(), record).await.unwrap();
        let got = s.checkpoint(gate).await.unwrap().unwrap();
        assert_eq!((got.fields, got.created_at, got.agency_id), (changed.clone(), t(7), a));
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id), ("checkpoint_updated", Some(gate.to_string())));

        let seq = last_seq(s).await;
        let missing =
            s.update_checkpoint(CheckpointId(999_999), changed, audit("checkpoint_updated", "checkpoint")).await;
        assert_eq!(missing, Err(StoreError::NotFound));
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn checkers_of_lists_the_checkers_of_an_agencys_checkpoints(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let b = agency(s, "SYT", "Sở Y tế").await;
        let gate_b = checkpoint(s, a, "Cổng B").await;
        let gate_a = checkpoint(s, a, "Cổng A").await;
        let gate_x = checkpoint(s, b, "Cổng X").await;
        let hung = user(s, "1", "Trần Văn Hùng").await;
        let lan = user(s, "2", "Lê Thị Lan").await;
        let minh = user(s, "3", "Nguyễn Văn Minh").await;
        for (who, grant) in [
            (hung, Grant::Checker { checkpoint_id: gate_b }),
            (minh, Grant::Checker { checkpoint_id: gate_a }),
            (lan, Grant::Checker { checkpoint_id: gate_a }),
            (minh, Grant::Checker { checkpoint_id: gate_x }),
            (hung, Grant::AgencyAdmin { agency_id: a }),
            (lan, Grant::HealthOfficial),
        ] {
            s.add_grant(who, grant, audit("role_granted", "user")).await.unwrap();
        }
        let assignment = |user_id, name: &str, checkpoint_id| CheckerAssignment {
            user_id,
            full_name: name.to_owned(),
            checkpoint_id,
        };
        assert_eq!(
            s.checkers_of(a).await.unwrap(),
            [
                assignment(lan, "Lê Thị Lan", gate_a),
                assignment(minh, "Nguyễn Văn Minh", gate_a),
                assignment(hung, "Trần Văn Hùng", gate_b),
            ]
        );
        assert_eq!(s.checkers_of(b).await.unwrap(), [assignment(minh, "Nguyễn Văn Minh", gate_x)]);
        assert_eq!(s.checkers_of(AgencyId(999_999)).await.unwrap(), []);
    }

    // ---- the audit log ----

    pub async fn every_write_appends_one_chained_entry(db: TestDb) {
        let s = &db.store;
        let mut expected = Vec::new();
        let mut step = async |action: &'static str| {
            expected.push(action);
            let e = latest(s).await.unwrap();
            assert_eq!((e.seq, e.action.as_str()), (expected.len() as i64, action), "after {action}");
        };

        let an = s.create_user(new_user("1", "Nguyễn Văn An"), audit("user_registered", "user")).await.unwrap();
        step("user_registered").await;
        let officer = s.create_user(new_user("2", "Lê Thị Lan"), audit("officer_registered", "user")).await.unwrap();
        step("officer_registered").await;
        s.mark_verified(an, Some(officer), "in_person", t(1), audit("identity_verified", "user")).await.unwrap();
        step("identity_verified").await;
        s.set_password(an, "$argon2id$new", audit("password_changed", "user")).await.unwrap();
        step("password_changed").await;
        let session =
            s.create_session(new_session(an, "a", T0, t(100_000)), audit("session_created", "session")).await.unwrap();
        step("session_created").await;
        s.revoke_session(an, session, audit("session_revoked", "session")).await.unwrap();
        step("session_revoked").await;
        let agency = s
            .create_agency(
                NewAgency {
                    name: "Sở Y tế".to_owned(),
                    code: "SYT".to_owned(),
                    address_scheme: "legacy".to_owned(),
                    address_unit: "19756".to_owned(),
                    address_street: "1 Lê Lợi".to_owned(),
                    created_at: T0,
                },
                audit("agency_created", "agency"),
            )
            .await
            .unwrap();
        step("agency_created").await;
        let unit = s.create_unit(agency, None, "Văn phòng", audit("unit_created", "unit")).await.unwrap();
        step("unit_created").await;
        let lines = s
            .add_roster_entries(
                vec![(unit, line("Nguyễn Văn An", Some("1"), None))],
                t(2),
                audit("roster_added", "unit"),
            )
            .await
            .unwrap();
        step("roster_added").await;
        s.remove_roster_entry(agency, lines[0], audit("roster_removed", "roster_entry")).await.unwrap();
        step("roster_removed").await;
        let gate = s
            .create_checkpoint(
                agency,
                fields("Cổng", CheckpointMode::Both),
                t(3),
                audit("checkpoint_created", "checkpoint"),
            )
            .await
            .unwrap();
        step("checkpoint_created").await;
        s.update_checkpoint(
            gate,
            fields("Cổng chính", CheckpointMode::Entry),
            audit("checkpoint_updated", "checkpoint"),
        )
        .await
        .unwrap();
        step("checkpoint_updated").await;
        s.add_grant(officer, Grant::Checker { checkpoint_id: gate }, audit("role_granted", "user")).await.unwrap();
        step("role_granted").await;
        s.remove_grant(officer, Grant::Checker { checkpoint_id: gate }, audit("role_revoked", "user")).await.unwrap();
        step("role_revoked").await;
        let read = AuditRecord {
            at: t(9_999),
            actor: Some(officer),
            ip: None,
            action: "audit_viewed",
            target_kind: "audit_log",
            target_id: Some("all".to_owned()),
            subject: Some(an),
            details: json!({ "filter": { "actor": null }, "note": "Nguyễn \"quoted\"" }),
        };
        s.append_audit(read.clone()).await.unwrap();
        step("audit_viewed").await;

        let chain = whole_chain(s).await;
        assert_eq!(chain.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), expected);
        assert_eq!(chain[0].prev_hash, GENESIS_HASH);
        assert_chain_intact(&chain);
        let last = chain.last().unwrap();
        assert_eq!(
            (last.at, last.actor, last.ip.clone(), last.target_kind.as_str(), last.target_id.clone(), last.subject),
            (read.at, read.actor, None, "audit_log", Some("all".to_owned()), Some(an))
        );
        assert_eq!(last.details, read.details.to_string(), "the details are stored as the text that was hashed");
    }

    pub async fn audit_entries_filter_and_page_newest_first(db: TestDb) {
        let s = &db.store;
        for (actor, subject, action) in [
            (Some(1), Some(2), "a"),
            (Some(1), None, "b"),
            (None, Some(2), "a"),
            (Some(3), Some(2), "b"),
            (Some(1), Some(2), "a"),
        ] {
            let record =
                AuditRecord { actor: actor.map(UserId), subject: subject.map(UserId), ..audit(action, "user") };
            s.append_audit(record).await.unwrap();
        }
        let find = async |f: AuditFilter| seqs(&s.audit_entries(f).await.unwrap());
        let all = AuditFilter { limit: 10, ..AuditFilter::default() };
        assert_eq!(find(all.clone()).await, [5, 4, 3, 2, 1]);
        assert_eq!(find(AuditFilter { actor: Some(UserId(1)), ..all.clone() }).await, [5, 2, 1]);
        assert_eq!(find(AuditFilter { subject: Some(UserId(2)), ..all.clone() }).await, [5, 4, 3, 1]);
        assert_eq!(find(AuditFilter { action: Some("a".to_owned()), ..all.clone() }).await, [5, 3, 1]);
        assert_eq!(
            find(AuditFilter { actor: Some(UserId(1)), action: Some("a".to_owned()), ..all.clone() }).await,
            [5, 1]
        );
        assert_eq!(find(AuditFilter { actor: Some(UserId(9)), ..all.clone() }).await, [0_i64; 0]);
        assert_eq!(find(AuditFilter { before_seq: Some(4), ..all.clone() }).await, [3, 2, 1]);
        assert_eq!(find(AuditFilter { limit: 0, ..all.clone() }).await, [0_i64; 0]);
        let page = |before_seq| AuditFilter { before_seq, limit: 2, ..AuditFilter::default() };
        assert_eq!(find(page(None)).await, [5, 4]);
        assert_eq!(find(page(Some(4))).await, [3, 2]);
        assert_eq!(find(page(Some(2))).await, [1]);
        assert_eq!(find(page(Some(1))).await, [0_i64; 0]);
        assert_eq!(find(AuditFilter { subject: Some(UserId(2)), ..page(Some(5)) }).await, [4, 3]);

        let entry = s.audit_entries(AuditFilter { actor: Some(UserId(3)), ..all }).await.unwrap();
        assert_eq!(entry.len(), 1);
        assert_eq!(
            (entry[0].actor, entry[0].subject, entry[0].action.as_str()),
            (Some(UserId(3)), Some(UserId(2)), "b")
        );
        assert_eq!((entry[0].target_kind.as_str(), entry[0].target_id.clone()), ("user", None));
    }

    pub async fn audit_chain_reads_in_order_from_a_seq(db: TestDb) {
        let s = &db.store;
        assert_eq!(whole_chain(s).await, []);
        for action in ["a", "b", "c", "d", "e"] {
            s.append_audit(audit(action, "audit_log")).await.unwrap();
        }
        assert_eq!(seqs(&s.audit_chain(1, 100).await.unwrap()), [1, 2, 3, 4, 5]);
        assert_eq!(seqs(&s.audit_chain(3, 2).await.unwrap()), [3, 4]);
        assert_eq!(seqs(&s.audit_chain(5, 10).await.unwrap()), [5]);
        assert_eq!(seqs(&s.audit_chain(6, 10).await.unwrap()), [0_i64; 0]);
        assert_eq!(seqs(&s.audit_chain(1, 0).await.unwrap()), [0_i64; 0]);
        let chain = whole_chain(s).await;
        assert_eq!(chain.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
        assert_chain_intact(&chain);
        // The newest-first view holds the very same entries.
        let mut newest_first = s.audit_entries(AuditFilter { limit: 100, ..AuditFilter::default() }).await.unwrap();
        newest_first.reverse();
        assert_eq!(newest_first, chain);
    }

    pub async fn concurrent_writes_keep_one_unbroken_chain(db: TestDb) {
        let mut tasks = Vec::new();
        for task in 0..8 {
            let s = Arc::clone(&db.store);
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    if task % 2 == 0 && i % 5 == 0 {
                        let tag = format!("{task}-{i}");
                        s.create_user(new_user(&tag, "Nguyễn Văn An"), audit("user_registered", "user")).await.unwrap();
                    } else {
                        s.append_audit(audit("audit_viewed", "audit_log")).await.unwrap();
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let chain = whole_chain(&db.store).await;
        assert_eq!(chain.len(), 80);
        assert_chain_intact(&chain);
        assert_eq!(chain.iter().filter(|e| e.action == "user_registered").count(), 8);
    }

    pub async fn the_audit_log_refuses_update_and_delete(db: TestDb) {
        let s = &db.store;
        for action in ["a", "b"] {
            s.append_audit(audit(action, "audit_log")).await.unwrap();
        }
        let before = whole_chain(s).await;
        let mut tampering = vec![
            "UPDATE audit_log SET action = 'forged' WHERE seq = 1",
            "UPDATE audit_log SET details = '{}'",
            "DELETE FROM audit_log WHERE seq = 2",
            "DELETE FROM audit_log",
        ];
        if db.engine.as_str() == "postgres" {
            tampering.push("TRUNCATE audit_log");
        }
        for sql in tampering {
            let result = db.execute_raw(sql).await;
            let message = result.map_err(|e| e.to_string()).err();
            assert!(message.as_deref().is_some_and(|m| m.contains("append-only")), "{sql}: {message:?}");
        }
        assert_eq!(whole_chain(s).await, before);
        // Appending still works.
        s.append_audit(audit("c", "audit_log")).await.unwrap();
        assert_chain_intact(&whole_chain(s).await);
    }

    // ---- the store itself ----

    pub async fn ping_engine_and_pool_stats(db: TestDb) {
        let s = &db.store;
        s.ping().await.unwrap();
        assert_eq!(s.engine(), db.engine.as_str());
        let stats = s.pool_stats();
        assert!(stats.size >= 1, "{stats:?}");
        assert!(stats.idle <= stats.size, "{stats:?}");
    }

    pub async fn is_empty_until_an_account_exists(db: TestDb) {
        let s = &db.store;
        assert!(s.is_empty().await.unwrap());
        s.append_audit(audit("audit_viewed", "audit_log")).await.unwrap();
        assert!(s.is_empty().await.unwrap(), "audit entries alone do not count");
        user(s, "1", "Nguyễn Văn An").await;
        assert!(!s.is_empty().await.unwrap());
    }

    pub async fn is_empty_until_an_agency_exists(db: TestDb) {
        let s = &db.store;
        assert!(s.is_empty().await.unwrap());
        agency(s, "SYT", "Sở Y tế").await;
        assert!(!s.is_empty().await.unwrap());
    }

    pub async fn migrate_reports_the_applied_migrations_and_changes_nothing(db: TestDb) {
        let s = &db.store;
        user(s, "1", "Nguyễn Văn An").await;
        let folder = format!("{}/../store-{}/migrations", env!("CARGO_MANIFEST_DIR"), db.engine.as_str());
        let files = std::fs::read_dir(folder)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
            .count();
        assert_eq!(db.migrate().await, Ok(files));
        assert_eq!(db.migrate().await, Ok(files));
        assert_eq!(s.search_users("", 10).await.unwrap().len(), 1);
        assert_chain_intact(&whole_chain(s).await);
    }

    pub async fn a_second_instance_sees_the_first_ones_writes(db: TestDb) {
        let other = db.open_another().await.unwrap();
        let id = user(&db.store, "1", "Nguyễn Văn An").await;
        assert_eq!(other.user_id_by_lookup("phone", &hash("phone:1")).await.unwrap(), Some(id));
        assert_eq!(last_seq(&other).await, 1);
    }

    // ---- check-ins: keys, pseudonyms, pass tags, venue codes, cards ----

    pub async fn a_new_signing_key_retires_the_active_key_of_its_purpose(db: TestDb) {
        let s = &db.store;
        assert_eq!(s.signing_keys().await.unwrap(), []);
        let add = async |k: SigningKeyRecord, old_verify_until: Option<Timestamp>| {
            s.add_signing_key(k, old_verify_until, audit("signing_key_added", "signing_key")).await
        };
        let pass1 = key(1, "pass", T0);
        add(pass1.clone(), None).await.unwrap();
        let e = latest(s).await.unwrap();
        assert_eq!((e.seq, e.action.as_str()), (1, "signing_key_added"));
        let venue = key(7, "venue", t(10));
        add(venue.clone(), Some(t(1))).await.unwrap();
        assert_eq!(
            s.signing_keys().await.unwrap(),
            [pass1.clone(), venue.clone()],
            "the first of a purpose retires none"
        );

        let pass2 = key(2, "pass", t(1_000));
        add(pass2.clone(), Some(t(5_000))).await.unwrap();
        let pass1_retired = SigningKeyRecord { sign_until: Some(t(1_000)), verify_until: Some(t(5_000)), ..pass1 };
        assert_eq!(
            s.signing_keys().await.unwrap(),
            [pass1_retired.clone(), pass2.clone(), venue.clone()],
            "by id; the other purpose's key is untouched"
        );

        // Only the active key retires (here to verify on indefinitely); a retired one keeps its times.
        let pass3 = key(3, "pass", t(2_000));
        add(pass3.clone(), None).await.unwrap();
        let pass2_retired = SigningKeyRecord { sign_until: Some(t(2_000)), verify_until: None, ..pass2 };
        let all = vec![pass1_retired, pass2_retired, pass3, venue];
        let keys = s.signing_keys().await.unwrap();
        assert_eq!(keys, all);
        for purpose in ["pass", "venue"] {
            let active = keys.iter().filter(|k| k.purpose == purpose && k.sign_until.is_none()).count();
            assert_eq!(active, 1, "{purpose}");
        }
        assert_eq!(last_seq(s).await, 4);
        assert_chain_intact(&whole_chain(s).await);

        // A taken id: the retirement of the active venue key is undone with the insert.
        assert_eq!(add(key(3, "venue", t(3_000)), Some(t(9_000))).await, Err(StoreError::Conflict("record")));
        assert_eq!(s.signing_keys().await.unwrap(), all);
        assert_eq!(last_seq(s).await, 4);

        // The schema holds the rules too: one active key per purpose, ids of 16 bits.
        let copy = |id: i64, sign_until: &str| {
            format!(
                "INSERT INTO signing_keys (id, purpose, public_key, private_sealed, created_at, sign_until)
                 SELECT {id}, purpose, public_key, private_sealed, created_at, {sign_until} FROM signing_keys WHERE id = 3"
            )
        };
        assert!(db.execute_raw(&copy(9, "NULL")).await.is_err(), "a second active pass key");
        assert!(db.execute_raw(&copy(65_536, "created_at")).await.is_err(), "an id beyond 16 bits");
        assert!(db.execute_raw(&copy(0, "created_at")).await.is_err(), "id 0");
        assert_eq!(db.execute_raw(&copy(65_535, "created_at")).await.unwrap(), 1, "a retired copy is fine");
    }

    pub async fn a_pseudonym_is_made_once_per_person(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let chi = user(s, "3", "Lê Thị Chi").await;
        assert_eq!(s.user_by_pseudonym(b"p-an").await.unwrap(), None);
        assert_eq!(s.pseudonym_of(an, b"p-an").await.unwrap(), b"p-an");
        assert_eq!(s.pseudonym_of(an, b"p-an-2").await.unwrap(), b"p-an", "the second fresh value is ignored");
        assert_eq!(s.pseudonym_of(binh, b"p-binh").await.unwrap(), b"p-binh");
        assert_eq!(s.pseudonym_of(an, b"p-an-3").await.unwrap(), b"p-an");
        assert_eq!(s.user_by_pseudonym(b"p-an").await.unwrap(), Some((an, "Nguyễn Văn An".to_owned())));
        assert_eq!(s.user_by_pseudonym(b"p-binh").await.unwrap(), Some((binh, "Trần Thị Bình".to_owned())));
        assert_eq!(s.user_by_pseudonym(b"p-an-2").await.unwrap(), None);

        // Two people never share one.
        assert_eq!(s.pseudonym_of(chi, b"p-an").await, Err(StoreError::Conflict("record")));
        assert_eq!(s.pseudonym_of(chi, b"p-chi").await.unwrap(), b"p-chi");
        assert_eq!(s.user_by_pseudonym(b"p-an").await.unwrap().map(|(id, _)| id), Some(an));

        let missing = s.pseudonym_of(UserId(an.0 + binh.0 + chi.0 + 1000), b"p-nobody").await;
        assert!(matches!(missing, Err(StoreError::Backend(_))), "{missing:?}");
        assert_eq!(s.user_by_pseudonym(b"p-nobody").await.unwrap(), None);
    }

    pub async fn a_session_pass_tag_is_made_once_and_names_the_live_session(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let long = session(s, an, "long", T0, t(100_000)).await;
        let other = session(s, binh, "other", T0, t(100_000)).await;
        let short = session(s, an, "short", T0, t(500)).await;
        assert_eq!(s.live_session_by_tag(b"tag-long", t(1)).await.unwrap(), None);
        assert_eq!(s.session_pass_tag(long, b"tag-long").await.unwrap(), b"tag-long");
        assert_eq!(
            s.session_pass_tag(long, b"tag-new").await.unwrap(),
            b"tag-long",
            "the second fresh value is ignored"
        );
        assert_eq!(s.session_pass_tag(other, b"tag-other").await.unwrap(), b"tag-other");
        assert_eq!(s.session_pass_tag(short, b"tag-short").await.unwrap(), b"tag-short");
        assert_eq!(s.live_session_by_tag(b"tag-long", t(1)).await.unwrap(), Some(an));
        assert_eq!(s.live_session_by_tag(b"tag-other", t(1)).await.unwrap(), Some(binh));
        assert_eq!(s.live_session_by_tag(b"tag-new", t(1)).await.unwrap(), None);

        // Live until just before the session's end.
        assert_eq!(s.live_session_by_tag(b"tag-short", t(499)).await.unwrap(), Some(an));
        assert_eq!(s.live_session_by_tag(b"tag-short", t(500)).await.unwrap(), None);

        s.revoke_session(an, long, audit("session_revoked", "session")).await.unwrap();
        assert_eq!(s.live_session_by_tag(b"tag-long", t(1)).await.unwrap(), None, "revoked");
        assert_eq!(s.session_pass_tag(long, b"tag-again").await.unwrap(), b"tag-long", "the tag stays on record");
        assert_eq!(s.live_session_by_tag(b"tag-other", t(1)).await.unwrap(), Some(binh));

        // Two sessions never share a tag.
        let third = session(s, an, "third", T0, t(100_000)).await;
        assert_eq!(s.session_pass_tag(third, b"tag-other").await, Err(StoreError::Conflict("record")));
        assert_eq!(s.live_session_by_tag(b"tag-other", t(1)).await.unwrap(), Some(binh));
        assert_eq!(s.session_pass_tag(third, b"tag-third").await.unwrap(), b"tag-third");

        let missing = SessionId(long.0 + other.0 + short.0 + third.0 + 1000);
        assert_eq!(s.session_pass_tag(missing, b"tag-missing").await, Err(StoreError::NotFound));
        assert_eq!(s.live_session_by_tag(b"tag-missing", t(1)).await.unwrap(), None);
    }

    pub async fn rotating_a_venue_code_records_its_generations(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let desk = checkpoint(s, a, "Bộ phận một cửa").await;
        assert_eq!(s.venue_generations(gate).await.unwrap(), []);
        let rotate = async |cp: CheckpointId, at: Timestamp, until: Timestamp| {
            s.rotate_venue_code(cp, at, until, audit("venue_code_rotated", "checkpoint")).await
        };
        let code = |generation, created_at, valid_until| VenueGeneration { generation, created_at, valid_until };

        let seq = last_seq(s).await;
        assert_eq!(rotate(gate, t(1_000), t(5_000)).await, Ok(2));
        assert_eq!(
            s.venue_generations(gate).await.unwrap(),
            [code(2, t(1_000), None), code(1, t(1), Some(t(5_000)))],
            "the first code dates from the checkpoint and retires"
        );
        assert_eq!(latest(s).await.unwrap().action, "venue_code_rotated");
        assert_eq!(last_seq(s).await, seq + 1);

        assert_eq!(rotate(gate, t(2_000), t(9_000)).await, Ok(3));
        assert_eq!(
            s.venue_generations(gate).await.unwrap(),
            [code(3, t(2_000), None), code(2, t(1_000), Some(t(9_000))), code(1, t(1), Some(t(5_000)))],
            "an already retired code keeps its end"
        );
        assert_eq!(s.venue_generations(desk).await.unwrap(), [], "other checkpoints keep their first code");
        assert_eq!(rotate(desk, t(3_000), t(4_000)).await, Ok(2));
        assert_eq!(s.venue_generations(desk).await.unwrap(), [code(2, t(3_000), None), code(1, t(1), Some(t(4_000)))]);
        assert_eq!(s.venue_generations(gate).await.unwrap().len(), 3);

        let seq = last_seq(s).await;
        assert_eq!(rotate(CheckpointId(999_999), t(4_000), t(5_000)).await, Err(StoreError::NotFound));
        assert_eq!(s.venue_generations(CheckpointId(999_999)).await.unwrap(), []);
        assert_eq!(last_seq(s).await, seq);
    }

    pub async fn issuing_a_card_revokes_the_holders_earlier_cards(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        assert_eq!(s.count_cards().await.unwrap(), 0);
        let issue = async |who: UserId, number: &str, secret: &str, at: Timestamp| {
            s.issue_card(who, number, &hash(secret), at, audit("card_issued", "card")).await
        };
        let first = issue(an, "TTH-000001", "card:1", t(10)).await.unwrap();
        let expected = CardRecord {
            id: first.id,
            user_id: an,
            number: "TTH-000001".to_owned(),
            issued_at: t(10),
            revoked_at: None,
        };
        assert_eq!(first, expected);
        let e = latest(s).await.unwrap();
        assert_eq!((e.action.as_str(), e.target_id.clone()), ("card_issued", Some(first.id.to_string())));
        assert_eq!(s.card_by_hash(&hash("card:1")).await.unwrap(), Some(first.clone()));

        let second = issue(an, "TTH-000002", "card:2", t(20)).await.unwrap();
        let first_revoked = CardRecord { revoked_at: Some(t(20)), ..first.clone() };
        assert_eq!(s.cards_of(an).await.unwrap(), [second.clone(), first_revoked.clone()], "newest first");
        assert_eq!(s.card_by_hash(&hash("card:1")).await.unwrap(), Some(first_revoked));
        assert_eq!(s.card_by_hash(&hash("card:2")).await.unwrap(), Some(second.clone()));
        assert_eq!(s.card_by_hash(&hash("card:9")).await.unwrap(), None);

        // Another holder's cards are theirs; two issued at the same moment list by id.
        let third = issue(binh, "TTH-000003", "card:3", t(30)).await.unwrap();
        let fourth = issue(binh, "TTH-000004", "card:4", t(30)).await.unwrap();
        assert_eq!(s.cards_of(binh).await.unwrap(), [fourth.clone(), CardRecord { revoked_at: Some(t(30)), ..third }]);
        assert_eq!(s.cards_of(an).await.unwrap()[0], second, "not revoked by another person's card");

        // A taken number changes nothing, not even the holder's current card.
        let seq = last_seq(s).await;
        assert_eq!(issue(binh, "TTH-000001", "card:5", t(40)).await, Err(StoreError::Conflict("card_number")));
        assert_eq!(s.cards_of(binh).await.unwrap()[0], fourth);
        assert_eq!(s.card_by_hash(&hash("card:5")).await.unwrap(), None);
        assert_eq!(s.count_cards().await.unwrap(), 4);
        assert_eq!(last_seq(s).await, seq);

        s.revoke_card(second.id, t(50), audit("card_revoked", "card")).await.unwrap();
        let second_revoked = CardRecord { revoked_at: Some(t(50)), ..second.clone() };
        assert_eq!(s.card_by_hash(&hash("card:2")).await.unwrap(), Some(second_revoked.clone()));
        assert_eq!(latest(s).await.unwrap().action, "card_revoked");
        let seq = last_seq(s).await;
        for id in [second.id, first.id, first.id + second.id + fourth.id + 1000] {
            assert_eq!(
                s.revoke_card(id, t(60), audit("card_revoked", "card")).await,
                Err(StoreError::NotFound),
                "{id}"
            );
        }
        assert_eq!(last_seq(s).await, seq);
        assert_eq!(s.cards_of(an).await.unwrap()[0], second_revoked, "the first revocation stands");
        assert_eq!(s.count_cards().await.unwrap(), 4, "revoked cards still count");
        assert_eq!(s.cards_of(UserId(an.0 + binh.0 + 1000)).await.unwrap(), []);
    }

    // ---- check-ins: scans and visits ----

    pub async fn arrivals_keep_each_persons_first_admitted_scan_of_the_day(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let other = agency(s, "SYT", "Sở Y tế").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let clinic = checkpoint(s, other, "Cổng").await;
        let (an, binh) = (user(s, "1", "Nguyễn Văn An").await, user(s, "2", "Lê Văn Bình").await);
        let day = vaora_domain::time::vietnam_day(T0);
        // An at the gate, then at the desk: one arrival, the first.
        record(s, scan("a1", gate, CheckpointMode::Entry, an, t(HOUR))).await;
        record(s, scan("a2", desk, CheckpointMode::Entry, an, t(2 * HOUR))).await;
        // An earlier scan sent late (queued offline) replaces it, with its own declaration state.
        let mut early = scan("a3", desk, CheckpointMode::Entry, an, t(30 * MIN));
        early.answer.declared_until = None;
        record(s, early).await;
        // Bình's refused code (red, no rule) is no arrival; his valid scan at another agency counts there.
        let mut refused = scan("b1", gate, CheckpointMode::Entry, binh, t(HOUR));
        refused.answer = answer("red", Some("pass_expired"));
        refused.user_id = None;
        record(s, refused).await;
        record(s, scan("b2", clinic, CheckpointMode::Entry, binh, t(HOUR))).await;
        let arrived = s.arrivals(a, day).await.unwrap();
        assert_eq!(
            arrived,
            [DayScan { user_id: an, checkpoint_id: desk, scanned_at: t(30 * MIN), declared: false }],
            "one arrival per person: the earliest"
        );
        let there = s.arrivals(other, day).await.unwrap();
        assert_eq!(there.len(), 1);
        assert_eq!((there[0].user_id, there[0].declared), (binh, true));
        // A resubmission changes nothing; the next day is another day.
        record(s, scan("a3", gate, CheckpointMode::Entry, an, t(10 * MIN))).await;
        assert_eq!(s.arrivals(a, day).await.unwrap()[0].scanned_at, t(30 * MIN));
        record(s, scan("a4", gate, CheckpointMode::Entry, an, t(24 * HOUR))).await;
        assert_eq!(s.arrivals(a, day + 1).await.unwrap().len(), 1);
        assert_eq!(s.arrivals(a, day).await.unwrap().len(), 1);

        // The roster's day: each line with its person's arrival; Chi, on no roster, is counted.
        let (office, desk_unit) = (unit(s, a, "Văn phòng").await, unit(s, a, "Một cửa").await);
        let lines = add_lines(
            s,
            vec![
                (office, line("Nguyễn Văn An", Some("1"), None)),
                (desk_unit, line("Nguyễn Văn An", Some("1"), None)),
                (office, line("Không Có Số", None, None)),
                (desk_unit, line("Lê Văn Bình", Some("2"), None)),
            ],
        )
        .await;
        let chi = user(s, "3", "Lê Thị Chi").await;
        record(s, scan("c1", gate, CheckpointMode::Entry, chi, t(3 * HOUR))).await;
        let roster = s.roster_day(a, day).await.unwrap();
        assert_eq!(roster.arrivals, 2, "An and Chi");
        for l in &roster.lines {
            let position = if l.arrival.is_some() { "" } else { "Chuyên viên" };
            assert_eq!(l.line.position, position, "only the missing are listed with their position");
        }
        let mut got: Vec<(RosterEntryId, UnitId, Option<UserId>, Option<DayScan>)> =
            roster.lines.into_iter().map(|l| (l.line.id, l.line.unit_id, l.line.user_id, l.arrival)).collect();
        got.sort_by_key(|l| l.0);
        let an_came = DayScan { user_id: an, checkpoint_id: desk, scanned_at: t(30 * MIN), declared: false };
        assert_eq!(
            got,
            [
                (lines[0], office, Some(an), Some(an_came.clone())),
                (lines[1], desk_unit, Some(an), Some(an_came)),
                (lines[2], office, None, None),
                (lines[3], desk_unit, Some(binh), None),
            ],
            "Bình came to the other agency only"
        );
        let next = s.roster_day(a, day + 1).await.unwrap();
        assert_eq!(next.arrivals, 1);
        assert_eq!(next.lines.iter().filter(|l| l.arrival.is_some()).count(), 2, "An's two lines");
        assert_eq!(s.roster_day(other, day).await.unwrap(), RosterDay { lines: Vec::new(), arrivals: 1 });

        // Per unit and day: the lines whose person came (An on both days, in both units).
        let units = s.unit_days(a, day - 1, day + 1).await.unwrap();
        assert_eq!(
            units,
            [
                UnitDays { unit_id: office, roster: 2, present: vec![(day, 1), (day + 1, 1)] },
                UnitDays { unit_id: desk_unit, roster: 2, present: vec![(day, 1), (day + 1, 1)] },
            ]
        );
        assert_eq!(s.unit_days(a, day + 2, day + 5).await.unwrap()[1].present, []);
        assert_eq!(s.unit_days(other, day, day).await.unwrap(), []);
    }

    pub async fn a_resubmitted_scan_gets_its_first_answer_and_changes_nothing(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let first = record(s, scan("s1", gate, CheckpointMode::Entry, an, T0)).await;
        let v = first.visit_id.unwrap();
        let expected =
            ScanOutcome { answer: answer("green", None), visit_id: Some(v), resubmitted: false, scanned_at: T0 };
        assert_eq!(first, expected);
        let before = visits(s, an).await;
        assert_eq!(before, [visit(v, an, gate, 0, HOUR, "stay")]);

        // The same client id again, claiming another time, place, mode, answer and pass.
        let mut again = scan("s1", desk, CheckpointMode::Exit, an, t(30 * MIN));
        again.answer = answer("amber", Some("not_verified"));
        again.pass_digest = Some(b"pass-1".to_vec());
        assert_eq!(record(s, again).await, ScanOutcome { resubmitted: true, ..first.clone() });
        assert_eq!(visits(s, an).await, before);
        assert_eq!(scan_rows(&db, "TRUE").await, 1);

        // The pass it carried was not used up.
        let mut fresh = scan("s2", desk, CheckpointMode::Entry, an, t(40 * MIN));
        fresh.pass_digest = Some(b"pass-1".to_vec());
        let fresh = record(s, fresh).await;
        assert_eq!((fresh.answer, fresh.resubmitted), (answer("green", None), false));
        let at_desk = fresh.visit_id.unwrap();

        // Twice in one batch: the second is the first one's resubmission and does not extend.
        let batch = vec![
            scan("s3", gate, CheckpointMode::Entry, an, t(50 * MIN)),
            scan("s3", gate, CheckpointMode::Entry, an, t(55 * MIN)),
        ];
        let outcomes = s.record_scans(batch).await.unwrap();
        let back = outcomes[0].visit_id.unwrap();
        let new = ScanOutcome {
            answer: answer("green", None),
            visit_id: Some(back),
            resubmitted: false,
            scanned_at: t(50 * MIN),
        };
        assert_eq!(outcomes, [new.clone(), ScanOutcome { resubmitted: true, ..new }]);
        assert_eq!(
            visits(s, an).await,
            [
                visit(back, an, gate, 50 * MIN, 110 * MIN, "stay"),
                visit(at_desk, an, desk, 40 * MIN, 50 * MIN, "moved"),
                visit(v, an, gate, 0, 40 * MIN, "moved"),
            ]
        );
        assert_eq!(scan_rows(&db, "TRUE").await, 3);
        assert_eq!(record(s, scan("s1", gate, CheckpointMode::Entry, an, t(HOUR))).await.visit_id, Some(v));
    }

    pub async fn a_pass_is_accepted_once_per_checkpoint(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let with_pass = |id: &str, checkpoint, at, pass: &[u8]| {
            let mut w = scan(id, checkpoint, CheckpointMode::Entry, an, at);
            w.pass_digest = Some(pass.to_vec());
            w
        };
        let refusal = |at| ScanOutcome {
            answer: answer("red", Some("pass_already_used")),
            visit_id: None,
            resubmitted: false,
            scanned_at: at,
        };

        let first = record(s, with_pass("a", gate, T0, b"pass-1")).await;
        assert_eq!(first.answer, answer("green", None));
        let v = first.visit_id.unwrap();
        let refused = record(s, with_pass("b", gate, t(MIN), b"pass-1")).await;
        assert_eq!(refused, refusal(t(MIN)), "red, keeping the name, and no visit");
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, HOUR, "stay")], "the refused scan extends nothing");

        // Accepted once more at another checkpoint.
        let elsewhere = record(s, with_pass("c", desk, t(2 * MIN), b"pass-1")).await;
        assert_eq!(elsewhere.answer, answer("green", None));
        let v2 = elsewhere.visit_id.unwrap();
        assert_eq!(record(s, with_pass("d", desk, t(3 * MIN), b"pass-1")).await, refusal(t(3 * MIN)));
        assert_eq!(
            visits(s, an).await,
            [visit(v2, an, desk, 2 * MIN, 2 * MIN + HOUR, "stay"), visit(v, an, gate, 0, 2 * MIN, "moved")]
        );

        // The refused scans are stored without the digest, and a resubmission is refused again.
        assert_eq!(scan_rows(&db, "pass_digest IS NULL").await, 2);
        assert_eq!(scan_rows(&db, "pass_digest IS NOT NULL").await, 2);
        let resubmitted = record(s, with_pass("b", desk, t(9 * MIN), b"pass-2")).await;
        assert_eq!(resubmitted, ScanOutcome { resubmitted: true, ..refused });

        // Within one batch too.
        let outcomes = s
            .record_scans(vec![
                with_pass("e", gate, t(10 * MIN), b"pass-3"),
                with_pass("f", gate, t(11 * MIN), b"pass-3"),
            ])
            .await
            .unwrap();
        let v3 = outcomes[0].visit_id.unwrap();
        assert_eq!(outcomes[0].answer, answer("green", None));
        assert_eq!(outcomes[1], refusal(t(11 * MIN)));
        assert_eq!(visits(s, an).await[0], visit(v3, an, gate, 10 * MIN, 10 * MIN + HOUR, "stay"));
    }

    /// Scanned on several devices at once, a pass is accepted once, and a client id recorded once.
    pub async fn concurrent_scans_of_one_pass_accept_it_once(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = Arc::clone(s);
            // Half share one client id (one phone retrying), half have their own (other phones).
            let id = if i % 2 == 0 { "retried".to_owned() } else { format!("device-{i}") };
            let mut w = scan(&id, gate, CheckpointMode::Entry, an, t(i * 1_000));
            w.pass_digest = Some(b"pass-1".to_vec());
            tasks.push(tokio::spawn(async move { s.record_scans(vec![w]).await.unwrap().remove(0) }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let green = outcomes.iter().filter(|o| o.answer.colour == "green").count();
        let retried_green = outcomes.iter().filter(|o| o.answer.colour == "green" && o.resubmitted).count();
        let fresh = outcomes.iter().filter(|o| !o.resubmitted).count();
        assert_eq!(fresh, 9, "each client id is recorded once");
        assert_eq!(scan_rows(&db, "TRUE").await, 9);
        assert_eq!(scan_rows(&db, "pass_digest IS NOT NULL").await, 1, "the pass is accepted once");
        assert!(green == 1 || (green == 8 && retried_green == 7), "{outcomes:?}");
        assert_eq!(visits(s, an).await.len(), 1);
    }

    pub async fn only_a_valid_scan_of_a_known_person_makes_a_visit(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let checker = user(s, "2", "Lê Thị Lan").await;

        // A refused code names nobody: the app records it without a holder.
        let mut expired = scan("red", gate, CheckpointMode::Entry, an, T0);
        expired.answer = answer("red", Some("pass_expired"));
        expired.user_id = None;
        let expected = ScanOutcome {
            answer: answer("red", Some("pass_expired")),
            visit_id: None,
            resubmitted: false,
            scanned_at: T0,
        };
        assert_eq!(record(s, expired).await, expected);
        let mut unknown = scan("unknown", gate, CheckpointMode::Entry, an, t(MIN));
        unknown.user_id = None;
        unknown.kind = "unknown";
        assert_eq!(record(s, unknown).await.visit_id, None, "green, but nobody to visit");
        assert_eq!(visits(s, an).await, []);
        assert_eq!(scan_rows(&db, "TRUE").await, 2, "every scan is kept");

        // Amber is a visit: the checker decides.
        let mut amber = scan("amber", gate, CheckpointMode::Entry, an, t(2 * MIN));
        amber.answer = answer("amber", Some("no_declaration"));
        amber.checker = Some(checker);
        amber.kind = "card";
        let outcome = record(s, amber).await;
        assert_eq!(outcome.answer, answer("amber", Some("no_declaration")));
        let v = outcome.visit_id.unwrap();
        let open = visit(v, an, gate, 2 * MIN, 2 * MIN + HOUR, "stay");
        assert_eq!(visits(s, an).await, std::slice::from_ref(&open));

        // A refused code neither closes nor moves the open visit.
        for (id, checkpoint, mode) in
            [("red-exit", desk, CheckpointMode::Exit), ("red-move", desk, CheckpointMode::Entry)]
        {
            let mut w = scan(id, checkpoint, mode, an, t(10 * MIN));
            w.answer = answer("red", Some("card_revoked"));
            w.user_id = None;
            assert_eq!(record(s, w).await.visit_id, None);
        }
        assert_eq!(visits(s, an).await, std::slice::from_ref(&open));

        // A valid code whose holder's status is red is still a visit: the person was at the gate,
        // and tracing must know. Its answer keeps the deciding rule.
        let mut fever = scan("fever", desk, CheckpointMode::Entry, an, t(20 * MIN));
        fever.answer = ScanAnswer {
            colour: "red".into(),
            reason: Some("fever".into()),
            display_name: Some("A. An".into()),
            rule: Some("fever".into()),
            declared_until: Some(t(HOUR)),
        };
        let outcome = record(s, fever.clone()).await;
        let moved = outcome.visit_id.unwrap();
        assert_eq!(outcome.answer, fever.answer);
        assert_eq!(visits(s, an).await[0], visit(moved, an, desk, 20 * MIN, 20 * MIN + HOUR, "stay"));
        let again = record(s, fever.clone()).await;
        assert!(again.resubmitted);
        assert_eq!(again.answer, fever.answer, "the rule and the validity are stored with the scan");
    }

    pub async fn a_rescan_at_the_same_checkpoint_extends_the_visit(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let entry = |id: &str, who, at| scan(id, gate, CheckpointMode::Entry, who, t(at));
        let theirs = visit_of(s, entry("b", binh, 0)).await;

        let v = visit_of(s, entry("1", an, 0)).await;
        assert_eq!(visit_of(s, entry("2", an, 20 * MIN)).await, v);
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 80 * MIN, "stay")]);
        // Scans that arrive late or with a shorter stay never shorten the visit.
        assert_eq!(visit_of(s, entry("3", an, 10 * MIN)).await, v);
        let mut short = entry("4", an, 30 * MIN);
        short.stay_ms = 10 * MIN;
        assert_eq!(visit_of(s, short).await, v);
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 80 * MIN, "stay")]);
        // A longer stay lengthens it.
        let mut long = entry("5", an, 40 * MIN);
        long.stay_ms = 2 * HOUR;
        assert_eq!(visit_of(s, long).await, v);
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 160 * MIN, "stay")]);

        // Once the stay has run out, a scan starts a new visit.
        let next = visit_of(s, entry("6", an, 160 * MIN)).await;
        assert_ne!(next, v);
        assert_eq!(
            visits(s, an).await,
            [visit(next, an, gate, 160 * MIN, 220 * MIN, "stay"), visit(v, an, gate, 0, 160 * MIN, "stay")]
        );
        assert_eq!(visits(s, binh).await, [visit(theirs, binh, gate, 0, HOUR, "stay")], "one person's scans only");
    }

    pub async fn a_scan_at_another_checkpoint_moves_the_visit(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let desk = checkpoint(s, a, "Bộ phận một cửa").await;
        let hall = checkpoint(s, a, "Hội trường").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let theirs = visit_of(s, scan("b", gate, CheckpointMode::Entry, binh, T0)).await;

        let v1 = visit_of(s, scan("1", gate, CheckpointMode::Entry, an, T0)).await;
        let v2 = visit_of(s, scan("2", desk, CheckpointMode::Entry, an, t(30 * MIN))).await;
        assert_ne!(v1, v2);
        assert_eq!(
            visits(s, an).await,
            [visit(v2, an, desk, 30 * MIN, 90 * MIN, "stay"), visit(v1, an, gate, 0, 30 * MIN, "moved")]
        );
        // A `both` checkpoint elsewhere starts a visit too (it ends only its own).
        let v3 = visit_of(s, scan("3", hall, CheckpointMode::Both, an, t(40 * MIN))).await;
        assert_eq!(
            visits(s, an).await[..2],
            [visit(v3, an, hall, 40 * MIN, 100 * MIN, "stay"), visit(v2, an, desk, 30 * MIN, 40 * MIN, "moved")]
        );
        // In one batch, in order.
        let batch = vec![
            scan("4", gate, CheckpointMode::Entry, an, t(50 * MIN)),
            scan("5", desk, CheckpointMode::Entry, an, t(55 * MIN)),
        ];
        let ids: Vec<_> = s.record_scans(batch).await.unwrap().into_iter().map(|o| o.visit_id.unwrap()).collect();
        assert_eq!(
            visits(s, an).await[..3],
            [
                visit(ids[1], an, desk, 55 * MIN, 115 * MIN, "stay"),
                visit(ids[0], an, gate, 50 * MIN, 55 * MIN, "moved"),
                visit(v3, an, hall, 40 * MIN, 50 * MIN, "moved"),
            ]
        );
        assert_eq!(visits(s, an).await.len(), 5);
        assert_eq!(visits(s, binh).await, [visit(theirs, binh, gate, 0, HOUR, "stay")]);
    }

    pub async fn an_exit_scan_ends_the_open_visit_or_records_a_bare_exit(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let out = checkpoint(s, a, "Cổng ra").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let exit = |id: &str, at| scan(id, out, CheckpointMode::Exit, an, t(at));

        let bare = visit_of(s, exit("1", 0)).await;
        assert_eq!(visits(s, an).await, [visit(bare, an, out, 0, 0, "exit")], "nothing was open");

        let v = visit_of(s, scan("2", gate, CheckpointMode::Entry, an, t(HOUR))).await;
        assert_eq!(visit_of(s, exit("3", HOUR + 30 * MIN)).await, v, "the exit ends the visit at the gate");
        assert_eq!(visits(s, an).await[0], visit(v, an, gate, HOUR, HOUR + 30 * MIN, "exit"));

        let bare2 = visit_of(s, exit("4", HOUR + 40 * MIN)).await;
        assert_eq!(visits(s, an).await[0], visit(bare2, an, out, HOUR + 40 * MIN, HOUR + 40 * MIN, "exit"));

        // An exit at the very moment of entry makes an empty visit, never a negative one.
        let v3 = visit_of(s, scan("5", gate, CheckpointMode::Entry, an, t(3 * HOUR))).await;
        assert_eq!(visit_of(s, exit("6", 3 * HOUR)).await, v3);
        assert_eq!(visits(s, an).await[0], visit(v3, an, gate, 3 * HOUR, 3 * HOUR, "exit"));
        // An exit scan that arrives before the visit began does not touch it.
        let v4 = visit_of(s, scan("7", gate, CheckpointMode::Entry, an, t(5 * HOUR))).await;
        let early = visit_of(s, exit("8", 5 * HOUR - 1)).await;
        assert_ne!(early, v4);
        let all = visits(s, an).await;
        assert_eq!(
            all[..2],
            [
                visit(v4, an, gate, 5 * HOUR, 6 * HOUR, "stay"),
                visit(early, an, out, 5 * HOUR - 1, 5 * HOUR - 1, "exit")
            ]
        );
        assert_eq!(all.len(), 6);
    }

    pub async fn a_rescan_at_a_both_checkpoint_ends_the_visit_after_two_minutes(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let both = |id: &str, at| scan(id, gate, CheckpointMode::Both, an, t(at));

        let v = visit_of(s, both("1", 0)).await;
        // A double scan at the door extends the visit.
        assert_eq!(visit_of(s, both("2", 2 * MIN - 1)).await, v);
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 2 * MIN - 1 + HOUR, "stay")]);
        // From two minutes after the start it is the way out.
        assert_eq!(visit_of(s, both("3", 2 * MIN)).await, v);
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 2 * MIN, "exit")]);

        let v2 = visit_of(s, both("4", 10 * MIN)).await;
        assert_ne!(v2, v);
        assert_eq!(visits(s, an).await[0], visit(v2, an, gate, 10 * MIN, 10 * MIN + HOUR, "stay"));
        assert_eq!(visit_of(s, both("5", 40 * MIN)).await, v2);
        assert_eq!(visits(s, an).await[0], visit(v2, an, gate, 10 * MIN, 40 * MIN, "exit"));
        assert_eq!(visits(s, an).await.len(), 2);
    }

    pub async fn a_visit_is_not_extended_past_a_day(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let gate = checkpoint(s, a, "Cổng chính").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let rescan = |id: &str, at| {
            let mut w = scan(id, gate, CheckpointMode::Entry, an, t(at));
            w.stay_ms = 8 * HOUR;
            w
        };
        let v = visit_of(s, rescan("0", 0)).await;
        for hours in [6, 12, 18, 24] {
            assert_eq!(visit_of(s, rescan(&format!("{hours}"), hours * HOUR)).await, v, "rescan after {hours} h");
        }
        assert_eq!(visits(s, an).await, [visit(v, an, gate, 0, 32 * HOUR, "stay")], "a day exactly is still one visit");

        let next = visit_of(s, rescan("late", 24 * HOUR + 1)).await;
        assert_ne!(next, v);
        assert_eq!(
            visits(s, an).await,
            [
                visit(next, an, gate, 24 * HOUR + 1, 32 * HOUR + 1, "stay"),
                visit(v, an, gate, 0, 24 * HOUR + 1, "moved")
            ]
        );
    }

    pub async fn a_failed_batch_records_nothing(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        visit_of(s, scan("before", gate, CheckpointMode::Entry, an, T0)).await;
        let before = visits(s, an).await;
        let seq = last_seq(s).await;

        let mut moving = scan("1", desk, CheckpointMode::Entry, an, t(10 * MIN));
        moving.pass_digest = Some(b"pass-1".to_vec());
        let leaving = scan("2", gate, CheckpointMode::Exit, binh, t(11 * MIN));
        let nowhere = scan("3", CheckpointId(999_999), CheckpointMode::Entry, an, t(12 * MIN));
        let result = s.record_scans(vec![moving.clone(), leaving.clone(), nowhere]).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert_eq!(visits(s, an).await, before, "the move to the desk is undone");
        assert_eq!(visits(s, binh).await, []);
        assert_eq!(scan_rows(&db, "TRUE").await, 1);
        assert_eq!(last_seq(s).await, seq);

        // Sent again without the broken scan, the others are new and the pass unused.
        let outcomes = s.record_scans(vec![moving, leaving]).await.unwrap();
        assert!(outcomes.iter().all(|o| !o.resubmitted && o.answer == answer("green", None)), "{outcomes:?}");
        assert_eq!(visits(s, an).await.len(), 2);
        assert_eq!(visits(s, binh).await.len(), 1);

        // A broken scan that makes no visit fails on its own row, and takes the batch with it.
        let mut anonymous = scan("4", CheckpointId(999_999), CheckpointMode::Entry, an, t(20 * MIN));
        anonymous.user_id = None;
        let result = s.record_scans(vec![scan("5", gate, CheckpointMode::Entry, an, t(15 * MIN)), anonymous]).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert_eq!(scan_rows(&db, "TRUE").await, 3);
        assert_eq!(visits(s, an).await.len(), 2);
        assert_eq!(visits(s, an).await[0].checkpoint_id, desk);
    }

    pub async fn check_out_ends_the_open_visit(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        assert_eq!(s.check_out(an, T0).await.unwrap(), None);

        let v = visit_of(s, scan("1", gate, CheckpointMode::Entry, an, T0)).await;
        let theirs = visit_of(s, scan("2", gate, CheckpointMode::Entry, binh, T0)).await;
        let closed = s.check_out(an, t(20 * MIN)).await.unwrap();
        assert_eq!(closed, Some(visit(v, an, gate, 0, 20 * MIN, "checkout")));
        assert_eq!(visits(s, an).await, [closed.unwrap()], "what it returns is what is stored");
        assert_eq!(s.check_out(an, t(25 * MIN)).await.unwrap(), None, "nothing open any more");
        assert_eq!(visits(s, binh).await, [visit(theirs, binh, gate, 0, HOUR, "stay")]);

        // A visit whose stay has run out is not open.
        assert_eq!(s.check_out(binh, t(HOUR)).await.unwrap(), None);
        assert_eq!(visits(s, binh).await, [visit(theirs, binh, gate, 0, HOUR, "stay")]);

        // At the very moment of arrival: an empty visit, not a negative one.
        let v2 = visit_of(s, scan("3", desk, CheckpointMode::Entry, an, t(2 * HOUR))).await;
        assert_eq!(
            s.check_out(an, t(2 * HOUR)).await.unwrap(),
            Some(visit(v2, an, desk, 2 * HOUR, 2 * HOUR, "checkout"))
        );
        // Before the visit began (a clock behind): nothing to end.
        let v3 = visit_of(s, scan("4", desk, CheckpointMode::Entry, an, t(3 * HOUR))).await;
        assert_eq!(s.check_out(an, t(3 * HOUR - 1)).await.unwrap(), None);
        assert_eq!(visits(s, an).await[0], visit(v3, an, desk, 3 * HOUR, 4 * HOUR, "stay"));

        // The schema refuses an end before the start outright.
        assert!(db.execute_raw("UPDATE visits SET ended_at = started_at - 1").await.is_err());
        assert_eq!(db.execute_raw("UPDATE visits SET ended_at = ended_at").await.unwrap(), 4);
        assert_eq!(visits(s, an).await.len(), 3);
    }

    pub async fn visits_of_lists_the_visits_started_in_a_range_newest_first(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let out = checkpoint(s, a, "Cổng ra").await;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let v1 = visit_of(s, scan("1", gate, CheckpointMode::Entry, an, T0)).await;
        let v2 = visit_of(s, scan("2", desk, CheckpointMode::Entry, an, t(30 * MIN))).await;
        let v3 = visit_of(s, scan("3", gate, CheckpointMode::Entry, an, t(2 * HOUR))).await;
        visit_of(s, scan("4", gate, CheckpointMode::Entry, binh, t(45 * MIN))).await;
        // Two that start at the same moment: a bare exit, then a new entry.
        let bare = visit_of(s, scan("5", out, CheckpointMode::Exit, an, t(5 * HOUR))).await;
        let v5 = visit_of(s, scan("6", gate, CheckpointMode::Entry, an, t(5 * HOUR))).await;

        let ids = async |from: i64, to: i64| -> Vec<i64> {
            s.visits_of(an, t(from), t(to)).await.unwrap().into_iter().map(|v| v.id).collect()
        };
        assert_eq!(ids(0, 6 * HOUR).await, [v5, bare, v3, v2, v1], "newest first, then by id");
        assert_eq!(ids(1, 3 * HOUR).await, [v3, v2], "v1 started before the range, though it ran into it");
        assert_eq!(ids(0, 2 * HOUR).await, [v2, v1], "v3 starts at the range's end");
        assert_eq!(ids(30 * MIN, 30 * MIN + 1).await, [v2]);
        assert_eq!(ids(3 * HOUR, 5 * HOUR).await, [0_i64; 0]);
        assert_eq!(ids(2 * HOUR, 2 * HOUR).await, [0_i64; 0]);
        assert_eq!(
            s.visits_of(an, T0, t(2 * HOUR + 1)).await.unwrap(),
            [
                visit(v3, an, gate, 2 * HOUR, 3 * HOUR, "stay"),
                visit(v2, an, desk, 30 * MIN, 90 * MIN, "stay"),
                visit(v1, an, gate, 0, 30 * MIN, "moved"),
            ]
        );
        assert_eq!(s.visits_of(UserId(an.0 + binh.0 + 1000), T0, t(6 * HOUR)).await.unwrap(), []);
    }

    pub async fn visits_at_finds_the_visits_overlapping_a_range_by_start(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let (gate, desk) = (checkpoint(s, a, "Cổng chính").await, checkpoint(s, a, "Bộ phận một cửa").await);
        let hall = checkpoint(s, a, "Hội trường").await;
        let mut people = Vec::new();
        for (tag, name) in [("1", "Nguyễn Văn An"), ("2", "Trần Thị Bình"), ("3", "Lê Thị Chi"), ("4", "Phạm Văn Dũng")]
        {
            people.push(user(s, tag, name).await);
        }
        let (an, binh, chi, dung) = (people[0], people[1], people[2], people[3]);
        let entry = |id: &str, checkpoint, who, at| scan(id, checkpoint, CheckpointMode::Entry, who, t(at));
        let va = visit_of(s, entry("a", gate, an, 0)).await;
        let vb = visit_of(s, entry("b", gate, binh, 30 * MIN)).await;
        let vd = visit_of(s, entry("d", gate, dung, 30 * MIN)).await;
        let vc = visit_of(s, entry("c", gate, chi, 2 * HOUR)).await;
        visit_of(s, entry("e", desk, an, 2 * HOUR)).await;

        let ids = async |from: i64, to: i64| -> Vec<i64> {
            s.visits_at(gate, t(from), t(to)).await.unwrap().into_iter().map(|v| v.id).collect()
        };
        assert_eq!(ids(HOUR, 2 * HOUR).await, [vb, vd], "a visit ending at `from` or starting at `to` only touches");
        assert_eq!(ids(HOUR - 1, 2 * HOUR + 1).await, [va, vb, vd, vc], "by start, then id");
        assert_eq!(ids(45 * MIN, 50 * MIN).await, [va, vb, vd], "begun before the range and still running in it");
        assert_eq!(ids(3 * HOUR, 4 * HOUR).await, [0_i64; 0], "the desk scan ended the visit at the gate");
        assert_eq!(ids(-HOUR, 0).await, [0_i64; 0]);
        assert_eq!(
            s.visits_at(gate, t(2 * HOUR), t(2 * HOUR + 1)).await.unwrap(),
            [visit(vc, chi, gate, 2 * HOUR, 3 * HOUR, "stay")]
        );
        assert_eq!(s.visits_at(desk, T0, t(HOUR)).await.unwrap(), []);

        // A visit kept going for a day by rescans is found near its end, long after it began.
        let rescan = |id: &str, at| {
            let mut w = entry(id, hall, dung, 10 * HOUR + at);
            w.stay_ms = 8 * HOUR;
            w
        };
        let long = visit_of(s, rescan("h0", 0)).await;
        for hours in [6, 12, 18, 24] {
            assert_eq!(visit_of(s, rescan(&format!("h{hours}"), hours * HOUR)).await, long);
        }
        let whole = visit(long, dung, hall, 10 * HOUR, 42 * HOUR, "stay");
        assert_eq!(s.visits_at(hall, t(42 * HOUR - 1), t(50 * HOUR)).await.unwrap(), [whole]);
        assert_eq!(s.visits_at(hall, t(42 * HOUR), t(50 * HOUR)).await.unwrap(), []);
    }

    // ---- health ----

    fn declaration(user: UserId, at: i64, hours: i64, answers: &str) -> NewDeclaration {
        NewDeclaration {
            user_id: user,
            declared_by: None,
            submitted_at: t(at),
            valid_until: t(at + hours * HOUR),
            answers_sealed: sealed(answers),
        }
    }

    pub async fn declarations_are_kept_and_found_by_time(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        let binh = user(s, "2", "Trần Thị Bình").await;
        let first =
            s.add_declaration(declaration(an, 0, 24, "a1"), audit("declaration_filed", "declaration")).await.unwrap();
        let mut for_binh = declaration(binh, HOUR, 24, "b1");
        for_binh.declared_by = Some(an);
        let hers = s.add_declaration(for_binh.clone(), audit("declaration_filed", "declaration")).await.unwrap();
        let second = s
            .add_declaration(declaration(an, 2 * HOUR, 24, "a2"), audit("declaration_filed", "declaration"))
            .await
            .unwrap();
        let entry = latest(s).await.unwrap();
        assert_eq!((entry.action.as_str(), entry.target_id), ("declaration_filed", Some(second.to_string())));

        let found = s.latest_declaration(an, t(HOUR)).await.unwrap().unwrap();
        assert_eq!((found.id, found.answers_sealed), (first, sealed("a1")), "the latest filed by then");
        assert_eq!(s.latest_declaration(an, t(2 * HOUR)).await.unwrap().unwrap().id, second);
        assert_eq!(s.latest_declaration(an, t(-1)).await.unwrap(), None);
        let theirs = s.latest_declaration(binh, t(5 * HOUR)).await.unwrap().unwrap();
        assert_eq!(
            theirs,
            DeclarationRecord {
                id: hers,
                user_id: binh,
                declared_by: Some(an),
                submitted_at: t(HOUR),
                valid_until: t(25 * HOUR),
                answers_sealed: sealed("b1"),
            }
        );
        let ids = async |from: i64, to: i64| -> Vec<i64> {
            s.declarations_of(an, t(from), t(to)).await.unwrap().into_iter().map(|d| d.id).collect()
        };
        assert_eq!(ids(0, 3 * HOUR).await, [second, first], "newest first");
        assert_eq!(ids(1, 2 * HOUR).await, [0_i64; 0], "from is inclusive, to exclusive");
        assert_eq!(ids(0, 2 * HOUR).await, [first]);
    }

    pub async fn coverage_counts_the_roster_with_a_valid_declaration(db: TestDb) {
        let s = &db.store;
        let a = agency(s, "SGTVT", "Sở Giao thông vận tải").await;
        let other = agency(s, "SYT", "Sở Y tế").await;
        let (office, roads) = (unit(s, a, "Văn phòng").await, unit(s, a, "Phòng Quản lý giao thông").await);
        let elsewhere = unit(s, other, "Văn phòng").await;
        let mut people = Vec::new();
        for (tag, name) in [("1", "Nguyễn Văn An"), ("2", "Trần Thị Bình"), ("3", "Lê Thị Chi"), ("4", "Phạm Văn Dũng")]
        {
            people.push(user(s, tag, name).await);
        }
        let (an, binh, chi, dung) = (people[0], people[1], people[2], people[3]);
        // An is on two units' rosters; Dũng is on another agency's only; Em has no account.
        add_lines(
            s,
            vec![
                (office, line("Nguyễn Văn An", Some("1"), None)),
                (roads, line("Nguyễn Văn An", Some("1"), None)),
                (office, line("Trần Thị Bình", Some("2"), None)),
                (roads, line("Lê Thị Chi", None, Some("3"))),
                (elsewhere, line("Phạm Văn Dũng", Some("4"), None)),
                (office, line("Võ Thị Em", Some("9"), None)),
            ],
        )
        .await;
        let file = async |d: NewDeclaration| {
            s.add_declaration(d, audit("declaration_filed", "declaration")).await.unwrap();
        };
        file(declaration(an, 0, 24, "a")).await;
        file(declaration(binh, -30 * HOUR, 24, "b-old")).await; // expired before now
        file(declaration(chi, HOUR, 24, "c")).await;
        file(declaration(dung, 0, 24, "d")).await;
        // Bình declared again after the moment asked about: it does not count yet.
        file(declaration(binh, 3 * HOUR, 24, "b-new")).await;

        let now = t(2 * HOUR);
        assert_eq!(s.declared_in_agency(a, now).await.unwrap(), [(an, t(24 * HOUR)), (chi, t(25 * HOUR))]);
        assert_eq!(s.declared_in_agency(other, now).await.unwrap(), [(dung, t(24 * HOUR))]);
        assert_eq!(s.declared_in_agency(a, t(24 * HOUR)).await.unwrap(), [(binh, t(27 * HOUR)), (chi, t(25 * HOUR))]);
    }

    pub async fn old_declarations_are_purged_with_one_audit_entry(db: TestDb) {
        let s = &db.store;
        let an = user(s, "1", "Nguyễn Văn An").await;
        for (i, at) in [0, HOUR, 2 * HOUR].into_iter().enumerate() {
            s.add_declaration(declaration(an, at, 24, &format!("a{i}")), audit("declaration_filed", "declaration"))
                .await
                .unwrap();
        }
        let before = last_seq(s).await;
        assert_eq!(s.purge_declarations(t(HOUR + 1), audit("declarations_purged", "declaration")).await.unwrap(), 2);
        let left = s.declarations_of(an, t(0), t(10 * HOUR)).await.unwrap();
        assert_eq!(left.iter().map(|d| d.submitted_at).collect::<Vec<_>>(), [t(2 * HOUR)]);
        let entry = latest(s).await.unwrap();
        assert_eq!((entry.seq, entry.action.as_str()), (before + 1, "declarations_purged"));
        assert!(entry.details.contains("\"deleted\":2"), "{}", entry.details);
        assert_eq!(s.purge_declarations(t(HOUR + 1), audit("declarations_purged", "declaration")).await.unwrap(), 0);
        assert_eq!(last_seq(s).await, before + 1, "nothing deleted, nothing logged");
    }

    pub async fn rule_tables_are_versioned_and_a_stale_change_is_refused(db: TestDb) {
        let s = &db.store;
        let admin = user(s, "1", "Nguyễn Văn An").await;
        assert_eq!(s.status_rule_sets(10).await.unwrap(), []);
        let save = async |text: &str, expected: i64| {
            s.save_status_rules(
                admin,
                text,
                "lý do",
                expected,
                t(expected * HOUR),
                audit("status_rules_changed", "status_rules"),
            )
            .await
        };
        assert_eq!(save("ok: always => green\n", 0).await.unwrap(), 1);
        assert_eq!(save("ok: always => amber\n", 1).await.unwrap(), 2);
        assert_eq!(save("stale: always => red\n", 1).await, Err(StoreError::Conflict("status_rules_version")));
        assert_eq!(save("ahead: always => red\n", 5).await, Err(StoreError::Conflict("status_rules_version")));
        let versions = s.status_rule_sets(10).await.unwrap();
        assert_eq!(
            versions,
            [
                RuleSetRecord {
                    version: 2,
                    text: "ok: always => amber\n".into(),
                    created_at: t(HOUR),
                    created_by: Some(admin),
                    note: "lý do".into(),
                },
                RuleSetRecord {
                    version: 1,
                    text: "ok: always => green\n".into(),
                    created_at: t(0),
                    created_by: Some(admin),
                    note: "lý do".into(),
                },
            ]
        );
        assert_eq!(s.status_rule_sets(1).await.unwrap().len(), 1);
        let entry = latest(s).await.unwrap();
        assert_eq!((entry.action.as_str(), entry.target_id.as_deref()), ("status_rules_changed", Some("2")));
    }
}

vaora_testkit::each_engine!(cases =>
    declarations_are_kept_and_found_by_time,
    coverage_counts_the_roster_with_a_valid_declaration,
    old_declarations_are_purged_with_one_audit_entry,
    rule_tables_are_versioned_and_a_stale_change_is_refused,
    create_user_stores_every_field,
    create_user_audits_the_account_as_its_own_actor,
    create_user_refuses_a_taken_phone_cccd_or_cmnd,
    accounts_without_cccd_or_cmnd_coexist,
    registering_links_roster_lines_added_before,
    roster_lines_added_after_registration_are_linked,
    registering_while_being_rostered_always_links,
    credentials_are_found_by_phone_hash,
    user_ids_are_found_by_each_lookup_kind,
    search_matches_a_substring_of_the_key,
    search_treats_wildcards_as_plain_text,
    mark_verified_records_who_and_how,
    set_password_replaces_the_hash_and_ends_every_session,
    sessions_are_found_by_token_until_they_expire,
    sessions_of_lists_live_sessions_newest_first,
    a_token_hash_is_unique,
    revoke_session_ends_only_the_owners_live_session,
    grants_are_added_once_listed_and_removed,
    count_province_admins_counts_accounts,
    a_grant_for_a_missing_account_or_checkpoint_is_refused,
    agencies_are_created_listed_and_unique_by_code,
    units_are_created_listed_and_unique_by_name_in_an_agency,
    roster_lines_are_added_and_listed_by_unit_and_name,
    a_roster_batch_with_one_duplicate_adds_nothing,
    roster_lines_of_a_person_name_their_agencies_and_units,
    roster_hashes_in_unit_lists_each_kind,
    remove_roster_entry_is_scoped_to_the_agency,
    checkpoints_are_created_updated_and_listed,
    checkers_of_lists_the_checkers_of_an_agencys_checkpoints,
    every_write_appends_one_chained_entry,
    audit_entries_filter_and_page_newest_first,
    audit_chain_reads_in_order_from_a_seq,
    concurrent_writes_keep_one_unbroken_chain,
    the_audit_log_refuses_update_and_delete,
    ping_engine_and_pool_stats,
    is_empty_until_an_account_exists,
    is_empty_until_an_agency_exists,
    migrate_reports_the_applied_migrations_and_changes_nothing,
    a_second_instance_sees_the_first_ones_writes,
    a_new_signing_key_retires_the_active_key_of_its_purpose,
    a_pseudonym_is_made_once_per_person,
    a_session_pass_tag_is_made_once_and_names_the_live_session,
    rotating_a_venue_code_records_its_generations,
    issuing_a_card_revokes_the_holders_earlier_cards,
    a_resubmitted_scan_gets_its_first_answer_and_changes_nothing,
    arrivals_keep_each_persons_first_admitted_scan_of_the_day,
    a_pass_is_accepted_once_per_checkpoint,
    concurrent_scans_of_one_pass_accept_it_once,
    only_a_valid_scan_of_a_known_person_makes_a_visit,
    a_rescan_at_the_same_checkpoint_extends_the_visit,
    a_scan_at_another_checkpoint_moves_the_visit,
    an_exit_scan_ends_the_open_visit_or_records_a_bare_exit,
    a_rescan_at_a_both_checkpoint_ends_the_visit_after_two_minutes,
    a_visit_is_not_extended_past_a_day,
    a_failed_batch_records_nothing,
    check_out_ends_the_open_visit,
    visits_of_lists_the_visits_started_in_a_range_newest_first,
    visits_at_finds_the_visits_overlapping_a_range_by_start,
);

/// Several stores on one database: server instances on PostgreSQL, or on SQLite an admin command
/// beside `serve` (SQLite has one writer at a time).
mod shared_database {
    use super::fixtures::*;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_writing_at_once_keep_one_unbroken_chain() {
        two_instances_write_at_once(TestDb::postgres().await).await;
    }

    /// Two stores on one SQLite file: an admin command writing beside `serve`. `BEGIN IMMEDIATE`
    /// makes the second writer wait for the lock instead of failing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_sqlite_stores_on_one_file_keep_one_unbroken_chain() {
        two_instances_write_at_once(TestDb::sqlite().await).await;
    }

    async fn two_instances_write_at_once(db: TestDb) {
        let other = db.open_another().await.unwrap();
        let mut tasks = Vec::new();
        for task in 0..8 {
            let s = if task % 2 == 0 { Arc::clone(&db.store) } else { Arc::clone(&other) };
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    if i % 4 == 0 {
                        let tag = format!("{task}-{i}");
                        s.create_user(new_user(&tag, "Nguyễn Văn An"), audit("user_registered", "user")).await.unwrap();
                    } else {
                        s.append_audit(audit("audit_viewed", "audit_log")).await.unwrap();
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let chain = whole_chain(&db.store).await;
        assert_eq!(chain.len(), 80);
        assert_chain_intact(&chain);
    }
}

/// Spaces, cases, tracing's reads and exposure notices.
mod tracing {
    use vaora_app::visit_pack;
    use vaora_domain::tracing::{CaseBasis, CaseStatus, PersonSpan, PlaceSpan, TraceParams, Visit};
    use vaora_domain::{CaseId, SpaceId};

    use super::fixtures::*;
    use super::*;

    const DAY: i64 = 24 * HOUR;

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    fn new_case(user: UserId, by: UserId) -> NewCase {
        NewCase {
            user_id: user,
            status: CaseStatus::Suspected,
            basis: CaseBasis::Onset,
            basis_day: 19_675,
            window_from: t(0),
            window_to: t(3 * DAY),
            params: TraceParams::default(),
            opened_by: by,
            opened_at: t(10),
        }
    }

    fn change(status: CaseStatus, at: i64, withdraw_notices: bool) -> CaseChange {
        CaseChange {
            status,
            window_from: t(HOUR),
            window_to: t(2 * DAY),
            params: TraceParams::new(0, 5 * MIN, 3).unwrap(),
            at: t(at),
            withdraw_notices,
        }
    }

    fn notice(user: UserId, degree: u8, checkpoint: CheckpointId, until: i64) -> NewNotice {
        NewNotice {
            user_id: user,
            degree,
            checkpoint_id: checkpoint,
            exposed_from: t(0),
            exposed_to: t(HOUR),
            active_until: t(until),
        }
    }

    fn ids(visits: Vec<Visit>) -> Vec<i64> {
        let mut ids: Vec<i64> = visits.into_iter().map(|v| v.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub mod cases {
        use super::*;

        pub async fn spaces_group_an_agencys_checkpoints(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let b = agency(s, "B", "Sở B").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let desk = checkpoint(s, a, "Lễ tân").await;
            let hall = checkpoint(s, a, "Hội trường").await;
            let other = checkpoint(s, b, "Cổng B").await;
            let main =
                s.create_space(a, "Toà nhà A", &[gate, desk], T0, audit("space_created", "space")).await.unwrap();
            assert_eq!(
                s.create_space(a, "Toà nhà A", &[], T0, audit("space_created", "space")).await,
                Err(StoreError::Conflict("space_name"))
            );
            let before = last_seq(s).await;
            assert_eq!(
                s.create_space(a, "Khác", &[hall, other], T0, audit("space_created", "space")).await,
                Err(StoreError::NotFound),
                "another agency's checkpoint"
            );
            assert_eq!(last_seq(s).await, before, "nothing of the refused space stays");
            // A checkpoint moves out of the space it was in.
            let annex = s.create_space(a, "Nhà phụ", &[desk, hall], T0, audit("space_created", "space")).await.unwrap();
            let spaces = s.spaces_of(a).await.unwrap();
            let names: Vec<&str> = spaces.iter().map(|x| x.name.as_str()).collect();
            assert_eq!(names, ["Nhà phụ", "Toà nhà A"]);
            assert_eq!(spaces[0].checkpoints, sorted(vec![desk, hall]));
            assert_eq!(spaces[1].checkpoints, [gate]);
            assert_eq!(spaces[1].agency_id, a);
            assert_eq!(
                sorted(s.space_pairs().await.unwrap()),
                sorted(vec![(annex, desk), (annex, hall), (main, gate)])
            );

            s.set_space_checkpoints(a, main, &[gate, hall], audit("space_changed", "space")).await.unwrap();
            assert_eq!(sorted(s.space_pairs().await.unwrap()), sorted(vec![(annex, desk), (main, gate), (main, hall)]));
            assert_eq!(
                s.set_space_checkpoints(b, main, &[other], audit("space_changed", "space")).await,
                Err(StoreError::NotFound),
                "another agency's space"
            );
            s.delete_space(a, annex, audit("space_deleted", "space")).await.unwrap();
            assert_eq!(s.delete_space(a, annex, audit("space_deleted", "space")).await, Err(StoreError::NotFound));
            assert_eq!(s.delete_space(b, main, audit("space_deleted", "space")).await, Err(StoreError::NotFound));
            assert_eq!(sorted(s.space_pairs().await.unwrap()), sorted(vec![(main, gate), (main, hall)]));
            assert!(s.spaces_of(b).await.unwrap().is_empty());
            assert_eq!(latest(s).await.unwrap().action, "space_deleted");
            let _: SpaceId = main;
        }

        pub async fn a_person_has_one_open_case_at_a_time(db: TestDb) {
            let s = &db.store;
            let f0 = user(s, "1", "Nguyễn Văn An").await;
            let official = user(s, "2", "Trần Thị Bình").await;
            let id = s.create_case(new_case(f0, official), audit("case_opened", "case")).await.unwrap();
            assert_eq!(
                s.case(id).await.unwrap().unwrap(),
                CaseRecord {
                    id,
                    user_id: f0,
                    status: CaseStatus::Suspected,
                    basis: CaseBasis::Onset,
                    basis_day: 19_675,
                    window_from: t(0),
                    window_to: t(3 * DAY),
                    params: TraceParams::default(),
                    opened_by: Some(official),
                    opened_at: t(10),
                    confirmed_at: None,
                    closed_at: None,
                }
            );
            let entry = latest(s).await.unwrap();
            assert_eq!((entry.action.as_str(), entry.target_id), ("case_opened", Some(id.to_string())));
            let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
            assert_eq!(details["case_id"], json!(id.0));
            assert_eq!(
                s.create_case(new_case(f0, official), audit("case_opened", "case")).await,
                Err(StoreError::Conflict("case_open"))
            );

            s.update_case(id, change(CaseStatus::Confirmed, 100, false), audit("case_updated", "case")).await.unwrap();
            let c = s.case(id).await.unwrap().unwrap();
            assert_eq!((c.status, c.confirmed_at, c.closed_at), (CaseStatus::Confirmed, Some(t(100)), None));
            assert_eq!(
                (c.window_from, c.window_to, c.params),
                (t(HOUR), t(2 * DAY), TraceParams::new(0, 5 * MIN, 3).unwrap())
            );
            s.update_case(id, change(CaseStatus::Closed, 200, false), audit("case_updated", "case")).await.unwrap();
            let c = s.case(id).await.unwrap().unwrap();
            assert_eq!((c.status, c.confirmed_at, c.closed_at), (CaseStatus::Closed, Some(t(100)), Some(t(200))));

            // Once closed, the person may have a new case.
            let again = s.create_case(new_case(f0, official), audit("case_opened", "case")).await.unwrap();
            let open: Vec<CaseId> = s.cases(false, 10).await.unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(open, [again]);
            let all: Vec<CaseId> = s.cases(true, 10).await.unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(all, [again, id], "newest first");
            assert_eq!(s.cases(true, 1).await.unwrap().len(), 1);
            assert_eq!(
                s.update_case(
                    CaseId(again.0 + 1000),
                    change(CaseStatus::Closed, 300, false),
                    audit("case_updated", "case")
                )
                .await,
                Err(StoreError::NotFound)
            );
            assert_eq!(s.case(CaseId(again.0 + 1000)).await.unwrap(), None);
        }

        pub async fn tracing_reads_visits_over_closed_intervals(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let hall = checkpoint(s, a, "Hội trường").await;
            let an = user(s, "1", "Nguyễn Văn An").await;
            let binh = user(s, "2", "Trần Thị Bình").await;
            let chi = user(s, "3", "Lê Thị Chi").await;
            let dung = user(s, "4", "Phạm Văn Dũng").await;
            let em = user(s, "5", "Hồ Thị Em").await;
            let entry = CheckpointMode::Entry;
            let v_an = visit_of(s, scan("a1", gate, entry, an, t(0))).await; // [0, 1 h]
            let v_binh = visit_of(s, scan("b1", gate, entry, binh, t(HOUR))).await; // [1 h, 2 h]: touches An's
            let v_chi = visit_of(s, scan("c1", hall, entry, chi, t(30 * MIN))).await; // [30 min, 90 min]
            // A long stay that started well before the span still reaches into it.
            let long = ScanWrite { stay_ms: 20 * HOUR, ..scan("d1", gate, entry, dung, t(-10 * HOUR)) };
            let v_dung = visit_of(s, long).await; // [-10 h, 10 h]
            let v_em = visit_of(s, scan("e1", gate, entry, em, t(-30 * HOUR))).await; // [-30 h, -29 h]

            let span = |user: UserId, from: i64, to: i64| PersonSpan { user, from: t(from).0, to: t(to).0 };
            let got = s.trace_visits_of(&[span(an, HOUR, 5 * HOUR), span(binh, 0, HOUR - 1)]).await.unwrap();
            assert_eq!(got, [Visit { id: v_an, user: an, checkpoint: gate, start: t(0).0, end: t(HOUR).0 }]);
            assert_eq!(ids(s.trace_visits_of(&[span(em, -31 * HOUR, -30 * HOUR)]).await.unwrap()), [v_em]);
            assert!(s.trace_visits_of(&[]).await.unwrap().is_empty());

            let at = |checkpoints: Vec<CheckpointId>, from: i64, to: i64| PlaceSpan {
                checkpoints,
                from: t(from).0,
                to: t(to).0,
            };
            let got = s.trace_visits_at(&[at(vec![gate, hall], HOUR, HOUR)]).await.unwrap();
            assert_eq!(ids(got), sorted(vec![v_an, v_binh, v_chi, v_dung]), "a zero-length span meets what touches it");
            let got =
                s.trace_visits_at(&[at(vec![hall], 0, 10 * MIN), at(vec![gate], 3 * HOUR, 4 * HOUR)]).await.unwrap();
            assert_eq!(ids(got), [v_dung], "Chi came after the first span; only Dũng stayed into the second");
            // Two spans close enough to be read as one range may bring what lies between them too
            // (the tracer checks every visit against its stays).
            let got = s
                .trace_visits_at(&[at(vec![gate], -40 * HOUR, -29 * HOUR), at(vec![gate], 2 * HOUR + 1, 3 * HOUR)])
                .await;
            let got = ids(got.unwrap());
            assert!(got.contains(&v_em) && got.contains(&v_dung) && !got.contains(&v_chi), "{got:?}");
            let got = s.trace_visits_at(&[at(vec![gate], -40 * HOUR, -35 * HOUR)]).await.unwrap();
            assert!(got.is_empty(), "{got:?}");
            assert!(s.trace_visits_at(&[]).await.unwrap().is_empty());

            // A visit extended by a rescan reaches further back than any visit made there before.
            let lobby = checkpoint(s, a, "Sảnh").await;
            let giang = user(s, "6", "Vũ Thị Giang").await;
            let v_giang = visit_of(s, scan("g1", lobby, entry, giang, t(0))).await; // [0, 1 h]
            record(s, scan("g2", lobby, entry, giang, t(55 * MIN))).await; // extends it to 1 h 55 min
            let got = s.trace_visits_at(&[at(vec![lobby], 110 * MIN, 110 * MIN)]).await.unwrap();
            assert_eq!(ids(got), [v_giang]);
            let none = checkpoint(s, a, "Kho").await;
            assert!(s.trace_visits_at(&[at(vec![none], 0, DAY)]).await.unwrap().is_empty(), "no visit there ever");
        }

        pub async fn packed_days_are_read_as_their_rows_are(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let hall = checkpoint(s, a, "Hội trường").await;
            let an = user(s, "1", "Nguyễn Văn An").await;
            let binh = user(s, "2", "Trần Thị Bình").await;
            let entry = CheckpointMode::Entry;
            let v_an = visit_of(s, scan("a1", gate, entry, an, t(0))).await;
            // Over midnight in Huế: packed with the day it started.
            visit_of(s, ScanWrite { stay_ms: 20 * HOUR, ..scan("b1", gate, entry, binh, t(-10 * HOUR)) }).await;
            visit_of(s, scan("a2", gate, entry, an, t(2 * DAY))).await;
            visit_of(s, scan("b2", hall, entry, binh, t(DAY))).await;
            visit_of(s, scan("a3", hall, entry, an, t(DAY + 30 * MIN))).await;
            let span = PlaceSpan { checkpoints: vec![gate, hall], from: t(-DAY).0, to: t(3 * DAY).0 };
            let read = || async {
                let mut got = s.trace_visits_at(std::slice::from_ref(&span)).await.unwrap();
                got.sort_by_key(|v| v.id);
                got.dedup();
                got
            };
            let rows = read().await;
            assert_eq!(rows.len(), 5);

            // Nothing is packed from the day that is "today" on.
            let day = |at: i64| visit_pack::day_of(t(at).0);
            let stale_days = sorted(
                [(gate, -10 * HOUR), (gate, 0), (gate, 2 * DAY), (hall, DAY), (hall, DAY + 30 * MIN)]
                    .map(|(c, at)| (c, day(at)))
                    .to_vec(),
            );
            // The packer's walk goes in order of day and checkpoint.
            let mut walk: Vec<PackCursor> =
                stale_days.iter().map(|&(checkpoint, day)| PackCursor { day, checkpoint }).collect();
            walk.sort();
            walk.dedup();
            let (start, last) = (PackCursor::START, walk[walk.len() - 1]);
            assert_eq!(s.pack_visits(day(-10 * HOUR), start, 100).await.unwrap(), (0, start));
            // A few at a time, then all; then nothing is left.
            assert_eq!(s.pack_visits(day(10 * DAY), start, 1).await.unwrap(), (1, walk[0]));
            assert_eq!(s.pack_visits(day(10 * DAY), walk[0], 100).await.unwrap(), (walk.len() - 1, last));
            assert_eq!(s.pack_visits(day(10 * DAY), last, 100).await.unwrap(), (0, last));
            assert_eq!(s.pack_visits(day(10 * DAY), start, 100).await.unwrap(), (0, start));
            assert_eq!(read().await, rows, "packs answer as the rows did");

            // A visit of a packed day is lengthened: its pack is stale at once, and the rows answer
            // until it is packed again.
            record(s, scan("a4", gate, entry, an, t(55 * MIN))).await;
            let longer = read().await;
            let an_now = longer.iter().find(|v| v.id == v_an).unwrap();
            assert_eq!(an_now.end, t(55 * MIN + HOUR).0, "{longer:?}");
            // A walk goes on from where it is: a pack made stale behind it waits for the next.
            assert_eq!(s.pack_visits(day(10 * DAY), last, 100).await.unwrap(), (0, last));
            let again = PackCursor { day: day(0), checkpoint: gate };
            assert_eq!(s.pack_visits(day(10 * DAY), start, 100).await.unwrap(), (1, again));
            assert_eq!(read().await, longer);
        }

        pub async fn contacts_and_places_are_named_for_tracing(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let hall = checkpoint(s, a, "Hội trường").await;
            s.create_space(a, "Toà nhà A", &[gate], T0, audit("space_created", "space")).await.unwrap();
            let parent = user(s, "1", "Lê Văn Cường").await;
            let child = new_dependant("9", "Lê Minh Khang");
            let child =
                s.create_dependant(parent, child, "con", audit("dependant_added", "user")).await.unwrap().user_id;
            let mut people = s.contact_people(&[child, parent]).await.unwrap();
            people.sort_by_key(|p| p.user_id);
            let phone = Some(sealed("phone:1"));
            let own = |p: &ContactPerson| (p.user_id, p.kind.clone(), p.phone_sealed.clone(), p.via_guardian);
            assert_eq!(own(&people[0]), (parent, "account".to_owned(), phone.clone(), false));
            assert_eq!(
                own(&people[1]),
                (child, "dependant".to_owned(), phone, true),
                "a child is called on their parent's phone"
            );
            assert_eq!(
                (people[1].full_name.as_str(), people[1].address_scheme.as_str(), people[1].address_unit.as_str()),
                ("Lê Minh Khang", "current", "19756")
            );
            let mut labels = s.place_labels(&[hall, gate]).await.unwrap();
            labels.sort_by_key(|l| l.checkpoint_id);
            assert_eq!(
                labels,
                [
                    PlaceLabel {
                        checkpoint_id: gate,
                        name: "Cổng".into(),
                        agency_id: a,
                        agency_name: "Sở A".into(),
                        space_name: Some("Toà nhà A".into()),
                    },
                    PlaceLabel {
                        checkpoint_id: hall,
                        name: "Hội trường".into(),
                        agency_id: a,
                        agency_name: "Sở A".into(),
                        space_name: None,
                    },
                ]
            );
        }

        pub async fn notices_go_once_to_their_person_and_mark_status_while_active(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let f0 = user(s, "1", "Nguyễn Văn An").await;
            let official = user(s, "2", "Trần Thị Bình").await;
            let an = user(s, "3", "Lê Thị An").await;
            let binh = user(s, "4", "Phạm Văn Bình").await;
            let chi = user(s, "5", "Hồ Thị Chi").await;
            let case = s.create_case(new_case(f0, official), audit("case_opened", "case")).await.unwrap();
            let batch = [notice(an, 1, gate, 10 * DAY), notice(binh, 2, gate, 10 * DAY), notice(chi, 1, gate, DAY)];
            assert_eq!(s.send_notices(case, &batch, official, t(100), audit("notices_sent", "case")).await.unwrap(), 3);
            assert_eq!(
                s.send_notices(case, &[notice(an, 2, gate, 20 * DAY)], official, t(150), audit("notices_sent", "case"))
                    .await
                    .unwrap(),
                0,
                "An keeps the notice she has"
            );
            let details: serde_json::Value = serde_json::from_str(&latest(s).await.unwrap().details).unwrap();
            assert_eq!(details["sent"], json!(0));

            let of_case = s.notices_of_case(case).await.unwrap();
            assert_eq!(of_case.iter().map(|n| n.user_id).collect::<Vec<_>>(), sorted(vec![an, binh, chi]));
            let mine = s.notices_of(an).await.unwrap();
            assert_eq!(mine.len(), 1);
            let n = &mine[0];
            assert_eq!(
                (n.case_id, n.degree, n.checkpoint_id, n.checkpoint_name.as_str(), n.agency_name.as_str()),
                (case, 1, gate, "Cổng", "Sở A")
            );
            assert_eq!((n.exposed_from, n.exposed_to, n.sent_at, n.active_until), (t(0), t(HOUR), t(100), t(10 * DAY)));
            assert_eq!((n.read_at, n.withdrawn_at), (None, None));
            assert_eq!(s.mark_notice_read(binh, n.id, t(200)).await, Err(StoreError::NotFound), "not Bình's");
            s.mark_notice_read(an, n.id, t(200)).await.unwrap();
            s.mark_notice_read(an, n.id, t(300)).await.unwrap();
            assert_eq!(s.notices_of(an).await.unwrap()[0].read_at, Some(t(200)), "read once");

            let flags = s.tracing_flags(t(2 * DAY)).await.unwrap();
            assert_eq!(flags.cases, [(f0, CaseStatus::Suspected)]);
            assert_eq!(sorted(flags.notices), sorted(vec![(an, 1), (binh, 2)]), "Chi's notice ran out");

            // Bình is an F1 of another case: the nearer degree counts.
            let other = user(s, "6", "Đỗ Văn Dũng").await;
            let second = s.create_case(new_case(other, official), audit("case_opened", "case")).await.unwrap();
            s.send_notices(second, &[notice(binh, 1, gate, 10 * DAY)], official, t(100), audit("notices_sent", "case"))
                .await
                .unwrap();
            let flags = s.tracing_flags(t(2 * DAY)).await.unwrap();
            assert_eq!(sorted(flags.notices), sorted(vec![(an, 1), (binh, 1)]));

            // Closing the first case as unfounded withdraws its notices.
            s.update_case(case, change(CaseStatus::Closed, 300, true), audit("case_updated", "case")).await.unwrap();
            assert!(s.notices_of_case(case).await.unwrap().iter().all(|n| n.withdrawn_at == Some(t(300))));
            assert!(s.notices_of_case(second).await.unwrap().iter().all(|n| n.withdrawn_at.is_none()));
            let flags = s.tracing_flags(t(2 * DAY)).await.unwrap();
            assert_eq!(flags.cases, [(other, CaseStatus::Suspected)]);
            assert_eq!(flags.notices, [(binh, 1)]);
        }

        pub async fn the_days_past_retention_go_with_their_scans_packs_arrivals_and_notices(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let b = agency(s, "B", "Sở B").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let desk = checkpoint(s, b, "Lễ tân").await;
            let an = user(s, "1", "Nguyễn Văn An").await;
            let binh = user(s, "2", "Trần Thị Bình").await;
            let official = user(s, "3", "Lê Văn Chi").await;
            let entry = CheckpointMode::Entry;
            let d = visit_pack::day_of(T0.0);
            let midnight = visit_pack::day_start(d + 1) - T0.0;
            // Day d: An at the gate, Bình twice at the desk, the second time until past midnight,
            // when a rescan extends that visit. Day d + 1: An at the gate again.
            visit_of(s, ScanWrite { stay_ms: 3 * HOUR, ..scan("a1", gate, entry, an, t(0)) }).await;
            visit_of(s, scan("b1", desk, entry, binh, t(HOUR))).await;
            let late = visit_of(s, scan("b2", desk, entry, binh, t(midnight - 30 * MIN))).await;
            assert_eq!(record(s, scan("b3", desk, entry, binh, t(midnight + 10 * MIN))).await.visit_id, Some(late));
            let kept = visit_of(s, scan("a2", gate, entry, an, t(midnight + 8 * HOUR))).await;
            s.pack_visits(d + 5, PackCursor::START, 100).await.unwrap();
            let packs = async |condition: &str| {
                db.execute_raw(&format!("UPDATE visit_packs SET day = day WHERE {condition}")).await.unwrap()
            };
            assert_eq!((packs(&format!("day = {d}")).await, packs(&format!("day = {}", d + 1)).await), (2, 1));
            let reach = async |checkpoint: CheckpointId, ms: i64| {
                let sql = format!(
                    "UPDATE checkpoint_reach SET max_ms = max_ms WHERE checkpoint_id = {checkpoint} AND max_ms = {ms}"
                );
                db.execute_raw(&sql).await.unwrap()
            };
            assert_eq!((reach(gate, 3 * HOUR).await, reach(desk, 100 * MIN).await), (1, 1));

            // Nothing started before day d.
            let start = CheckpointId(i64::MIN);
            let day_d = Timestamp(visit_pack::day_start(d));
            assert_eq!(s.purge_visits(day_d, start, 10).await.unwrap(), (VisitsPurged::default(), Some(desk)));
            // Day d goes, a few checkpoints at a time.
            let before = Timestamp(visit_pack::day_start(d + 1));
            assert_eq!(
                s.purge_visits(before, start, 1).await.unwrap(),
                (VisitsPurged { visits: 1, scans: 1 }, Some(gate))
            );
            assert_eq!(
                s.purge_visits(before, gate, 10).await.unwrap(),
                (VisitsPurged { visits: 2, scans: 2 }, Some(desk))
            );
            assert_eq!(s.purge_visits(before, desk, 10).await.unwrap(), (VisitsPurged::default(), None));
            assert_eq!(visits(s, an).await.iter().map(|v| v.id).collect::<Vec<_>>(), [kept]);
            assert_eq!(visits(s, binh).await, []);
            assert_eq!(scan_rows(&db, "true").await, 2, "the scans of day d + 1");
            assert_eq!(scan_rows(&db, "client_id = 'b3' AND visit_id IS NULL").await, 1, "its visit is gone");
            assert_eq!((packs(&format!("day = {d}")).await, packs(&format!("day = {}", d + 1)).await), (0, 1));
            let none = format!("UPDATE checkpoint_reach SET max_ms = max_ms WHERE checkpoint_id = {desk}");
            assert_eq!(
                (reach(gate, HOUR).await, db.execute_raw(&none).await.unwrap()),
                (1, 0),
                "the longest visits went"
            );
            let span = PlaceSpan { checkpoints: vec![gate, desk], from: t(-DAY).0, to: t(3 * DAY).0 };
            assert_eq!(ids(s.trace_visits_at(&[span]).await.unwrap()), [kept]);

            // Arrivals and the day counts of day d, an agency at a time.
            let (day, next) = (i32::try_from(d).unwrap(), i32::try_from(d + 1).unwrap());
            assert_eq!(s.arrivals(b, day).await.unwrap().len(), 1);
            let agencies = AgencyId(i64::MIN);
            assert_eq!(s.purge_arrivals(next, agencies, 1).await.unwrap(), (1, Some(a)));
            assert_eq!(s.purge_arrivals(next, a, 10).await.unwrap(), (1, Some(b)));
            assert_eq!(s.purge_arrivals(next, b, 10).await.unwrap(), (0, None));
            for agency in [a, b] {
                assert_eq!(s.arrivals(agency, day).await.unwrap(), []);
                assert_eq!(s.arrivals(agency, next).await.unwrap().len(), 1);
                let days = s.agency_day_totals(agency, day, next).await.unwrap();
                assert_eq!(days.iter().map(|t| t.day).collect::<Vec<_>>(), [next]);
            }

            // A notice goes once its exposure and its marking of status are both past.
            let case = s.create_case(new_case(an, official), audit("case_opened", "case")).await.unwrap();
            let batch = [notice(an, 1, gate, 2 * HOUR), notice(binh, 1, gate, 10 * DAY)];
            s.send_notices(case, &batch, official, t(100), audit("notices_sent", "case")).await.unwrap();
            assert_eq!(s.purge_notices(t(HOUR)).await.unwrap(), 0, "the exposure ended at one hour");
            assert_eq!(s.purge_notices(before).await.unwrap(), 1);
            assert_eq!(s.notices_of_case(case).await.unwrap().iter().map(|n| n.user_id).collect::<Vec<_>>(), [binh]);
        }

        pub async fn deleting_an_account_takes_what_names_the_person_and_keeps_the_rest(db: TestDb) {
            let s = &db.store;
            let a = agency(s, "A", "Sở A").await;
            let staff = unit(s, a, "Văn phòng").await;
            let gate = checkpoint(s, a, "Cổng").await;
            let an = user(s, "1", "Nguyễn Văn An").await;
            let binh = user(s, "2", "Trần Thị Bình").await;
            let official = user(s, "3", "Lê Văn Chi").await;
            let line = add_lines(s, vec![(staff, line("Nguyễn Văn An", Some("1"), None))]).await[0];
            let child = new_dependant("9", "Nguyễn Minh Khang");
            let child = s.create_dependant(an, child, "con", audit("dependant_added", "user")).await.unwrap().user_id;
            session(s, an, "an", t(0), t(DAY)).await;
            // An once checked Bình in and verified her, as a checker whose role has since gone.
            let checker = Grant::Checker { checkpoint_id: gate };
            s.add_grant(an, checker.clone(), audit("role_granted", "user")).await.unwrap();
            s.mark_verified(binh, Some(an), "in_person", t(5), audit("identity_verified", "user")).await.unwrap();
            let entry = CheckpointMode::Entry;
            visit_of(s, scan("a1", gate, entry, an, t(0))).await;
            visit_of(s, scan("k1", gate, entry, child, t(MIN))).await;
            let hers = visit_of(s, ScanWrite { checker: Some(an), ..scan("b1", gate, entry, binh, t(2 * MIN)) }).await;
            // A pass of An's shown twice at the gate: the second scan is refused, with no visit.
            let pass =
                |id: &str, at| ScanWrite { pass_digest: Some(b"pass-an".to_vec()), ..scan(id, gate, entry, an, at) };
            record(s, pass("a2", t(3 * MIN))).await; // extends his visit
            assert_eq!(record(s, pass("a3", t(4 * MIN))).await.visit_id, None);
            s.pseudonym_of(an, b"0123456789").await.unwrap();
            s.issue_card(an, "HUE-0001", &hash("card-an"), t(6), audit("card_issued", "card")).await.unwrap();
            s.save_status_rules(
                an,
                "ok: always => green\n",
                "lý do",
                0,
                t(7),
                audit("status_rules_changed", "status_rules"),
            )
            .await
            .unwrap();
            let declared = |user, by| NewDeclaration {
                user_id: user,
                declared_by: by,
                submitted_at: t(0),
                valid_until: t(DAY),
                answers_sealed: sealed("answers"),
            };
            for (person, by) in [(an, None), (child, Some(an)), (binh, None)] {
                s.add_declaration(declared(person, by), audit("declaration_filed", "declaration")).await.unwrap();
            }
            let d = visit_pack::day_of(T0.0);
            let day = i32::try_from(d).unwrap();
            s.pack_visits(d + 1, PackCursor::START, 100).await.unwrap();
            let totals = |staff, visitors| DayTotals { day, staff, visitors, late: 0, declared: staff };
            assert_eq!(s.agency_day_totals(a, day, day).await.unwrap(), [totals(1, 2)]);

            // Refused while An holds a role, then while a case about the child is open or its
            // notices are kept; nothing is deleted meanwhile.
            let before = last_seq(s).await;
            let delete_at = async |now| s.delete_account(an, t(now), audit("account_deleted", "user")).await;
            let delete = async || delete_at(3 * DAY).await;
            assert_eq!(delete().await, Err(StoreError::Conflict("roles")));
            s.remove_grant(an, checker, audit("role_revoked", "user")).await.unwrap();
            let case = s.create_case(new_case(child, official), audit("case_opened", "case")).await.unwrap();
            assert_eq!(delete().await, Err(StoreError::Conflict("case")));
            s.send_notices(case, &[notice(binh, 1, gate, 2 * DAY)], official, t(100), audit("notices_sent", "case"))
                .await
                .unwrap();
            s.update_case(case, change(CaseStatus::Closed, 300, false), audit("case_updated", "case")).await.unwrap();
            assert_eq!(delete().await, Err(StoreError::Conflict("case")), "Bình's notice is kept");
            assert_eq!(last_seq(s).await, before + 4, "the role, the case, its notices and its closing");
            assert!(s.user(child).await.unwrap().is_some());
            assert_eq!(s.purge_notices(t(3 * DAY)).await.unwrap(), 1);
            // An is an F1 of Bình's case: not while that notice is in force.
            let her_case = s.create_case(new_case(binh, official), audit("case_opened", "case")).await.unwrap();
            s.send_notices(her_case, &[notice(an, 1, gate, 2 * DAY)], official, t(100), audit("notices_sent", "case"))
                .await
                .unwrap();
            assert_eq!(delete_at(DAY).await, Err(StoreError::Conflict("case")));
            assert!(s.user(child).await.unwrap().is_some());

            let deleted = delete().await.unwrap();
            assert_eq!(deleted, AccountDeleted { people: vec![child, an], visits: 2, declarations: 2, agencies: 1 });
            let entry = latest(s).await.unwrap();
            assert_eq!((entry.seq, entry.action.as_str()), (before + 7, "account_deleted"));
            let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
            assert_eq!(details, json!({ "dependants": 1, "visits": 2, "declarations": 2 }));

            for gone in [an, child] {
                assert_eq!(s.user(gone).await.unwrap(), None);
                assert_eq!(visits(s, gone).await, []);
                assert_eq!(s.declarations_of(gone, t(-DAY), t(DAY)).await.unwrap(), []);
            }
            assert_eq!(s.session_by_token(&hash("token:an"), t(1)).await.unwrap(), None);
            assert_eq!(s.dependants_of(an).await.unwrap(), []);
            assert_eq!(s.case(case).await.unwrap(), None, "the closed case went with the child");
            assert_eq!(s.notices_of_case(her_case).await.unwrap(), [], "An's notice went with him");
            assert!(s.case(her_case).await.unwrap().is_some());
            assert_eq!(s.credentials_by_phone(&hash("phone:1")).await.unwrap(), None);
            // Bình keeps her visit, declaration and verification; An's link to them goes.
            assert_eq!(visits(s, binh).await.iter().map(|v| v.id).collect::<Vec<_>>(), [hers]);
            assert_eq!(s.declarations_of(binh, t(-DAY), t(DAY)).await.unwrap().len(), 1);
            let binh_now = s.user(binh).await.unwrap().unwrap();
            assert_eq!((binh_now.verified_at, binh_now.verified_by), (Some(t(5)), None));
            // The scans stay as counts, naming no one; the day's pack is to be made again.
            assert_eq!(scan_rows(&db, "true").await, 5);
            assert_eq!(scan_rows(&db, "user_id IS NULL AND display_name IS NULL AND visit_id IS NULL").await, 4);
            assert_eq!(scan_rows(&db, "checker_id IS NULL AND client_id = 'b1'").await, 1);
            assert_eq!(scan_rows(&db, &format!("checker_id = {an} OR user_id IN ({an}, {child})")).await, 0);
            let own_sender = "sender_id = -id AND client_id IN ('a1', 'a2', 'a3', 'k1', 'b1')";
            assert_eq!(scan_rows(&db, own_sender).await, 5, "sent by An, by his son, and by An as a checker");
            assert_eq!(s.status_rule_sets(1).await.unwrap()[0].created_by, None);
            assert_eq!(s.cards_of(an).await.unwrap(), []);
            assert_eq!(s.user_by_pseudonym(b"0123456789").await.unwrap(), None);
            let stale = format!("UPDATE visit_packs SET day = day WHERE day = {d} AND visits IS NULL");
            assert_eq!(db.execute_raw(&stale).await.unwrap(), 1);
            let span = PlaceSpan { checkpoints: vec![gate], from: t(-DAY).0, to: t(DAY).0 };
            assert_eq!(ids(s.trace_visits_at(&[span]).await.unwrap()), [hers]);
            // The agency keeps its roster line, unlinked, and its day counts lose An and the child.
            assert_eq!(linked_user(s, a, line).await, None);
            assert_eq!(s.roster_people(a).await.unwrap(), 1);
            assert_eq!(s.arrivals(a, day).await.unwrap().len(), 1);
            assert_eq!(s.agency_day_totals(a, day, day).await.unwrap(), [totals(0, 1)]);
            // Nothing points at them (SQLite deletes with its foreign keys off, so it is asked).
            if db.engine == vaora_testkit::Engine::Sqlite {
                let violations =
                    "UPDATE agencies SET name = name WHERE EXISTS (SELECT 1 FROM pragma_foreign_key_check)";
                assert_eq!(db.execute_raw(violations).await.unwrap(), 0);
            }
            // The phone and CCCD can register again.
            assert!(s.create_user(new_user("1", "Nguyễn Văn An"), audit("user_registered", "user")).await.is_ok());
        }
    }

    vaora_testkit::each_engine!(cases =>
        spaces_group_an_agencys_checkpoints,
        a_person_has_one_open_case_at_a_time,
        tracing_reads_visits_over_closed_intervals,
        packed_days_are_read_as_their_rows_are,
        contacts_and_places_are_named_for_tracing,
        notices_go_once_to_their_person_and_mark_status_while_active,
        the_days_past_retention_go_with_their_scans_packs_arrivals_and_notices,
        deleting_an_account_takes_what_names_the_person_and_keeps_the_rest,
    );
}
