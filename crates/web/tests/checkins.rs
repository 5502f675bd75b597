//! Check-in flows: passes scanned by checkers, venue posters opened by citizens, printed cards,
//! offline batches, key and venue-code rotation; on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Site, TestApp, person, site, web_cookie};
use serde_json::{Value, json};

both_engines!(
    a_pass_scanned_by_a_checker_is_green_once,
    a_poster_url_checks_a_citizen_in_and_out,
    fake_and_rotated_posters_are_refused,
    printed_cards_and_offline_batches_count_once,
    visits_follow_the_checkpoint_rules,
    keys_are_published_and_rotate_without_breaking_passes,
    the_pass_and_checker_screens_work,
    visits_are_deleted_after_the_retention_period,
    a_person_downloads_everything_held_about_them,
    a_person_deletes_their_account,
);

async fn checkpoint(t: &TestApp, s: &Site, name: &str, mode: &str, stay: i64) -> i64 {
    let r = t
        .post(
            &format!("/api/v1/agencies/{}/checkpoints", s.agency),
            Some(&s.office),
            json!({"name": name, "mode": mode, "default_stay_minutes": stay}),
        )
        .await;
    r.body["id"].as_i64().unwrap()
}

async fn scan(t: &TestApp, token: &str, id: &str, checkpoint: i64, code: &str) -> Value {
    let r =
        t.post("/api/v1/scans", Some(token), json!({"client_id": id, "checkpoint_id": checkpoint, "code": code})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn pass(t: &TestApp, token: &str) -> String {
    let r = t.call(Method::POST, "/api/v1/passes", Some(token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["code"].as_str().unwrap().to_owned()
}

async fn a_pass_scanned_by_a_checker_is_green_once(t: TestApp) {
    let s = site(&t).await;
    let (_, citizen) = t.citizen(102).await;
    t.declare_well(&citizen).await;
    let code = pass(&t, &citizen).await;
    assert!(code.starts_with("VP1") && code.len() == 151, "{code}");
    assert!(!code.contains("0912000102") && !code.contains("046085000102"), "no personal data in a pass");

    let first = scan(&t, &s.checker, "scan-1", s.gate, &code).await;
    assert_eq!(
        (first["colour"].as_str(), first["display_name"].as_str(), first["reason"].as_str()),
        (Some("green"), Some("N. An"), None)
    );
    assert!(first["visit_id"].as_i64().is_some());
    // The same scan sent again (a retry) gets the same answer and records nothing new.
    let retry = scan(&t, &s.checker, "scan-1", s.gate, &code).await;
    assert_eq!(
        (retry["colour"].as_str(), retry["resubmitted"].as_bool(), retry["visit_id"].clone()),
        (Some("green"), Some(true), first["visit_id"].clone())
    );
    // The same pass scanned again is refused.
    let again = scan(&t, &s.checker, "scan-2", s.gate, &code).await;
    assert_eq!((again["colour"].as_str(), again["reason"].as_str()), (Some("red"), Some("pass_already_used")));
    // One character altered: refused.
    let mut altered = code.clone().into_bytes();
    altered[60] = if altered[60] == b'A' { b'B' } else { b'A' };
    let forged = scan(&t, &s.checker, "scan-3", s.gate, &String::from_utf8(altered).unwrap()).await;
    assert_eq!(forged["colour"], "red");
    assert!(["pass_bad_signature", "pass_garbled"].contains(&forged["reason"].as_str().unwrap()), "{forged}");
    assert_eq!(scan(&t, &s.checker, "scan-4", s.gate, &code[..90]).await["reason"], "pass_truncated");
    assert_eq!(scan(&t, &s.checker, "scan-5", s.gate, "hello").await["reason"], "code_unrecognised");
    // Another device that numbers its scans the same way gets its own answer, not this one's.
    let (_, other) = t.citizen(106).await;
    let mut other_pass = pass(&t, &other).await;
    let theirs = t
        .post(
            "/api/v1/scans",
            Some(&s.office),
            json!({"client_id": "scan-1", "checkpoint_id": s.gate, "code": other_pass.clone()}),
        )
        .await;
    // (This person has not declared: amber, and the rule says why.)
    assert_eq!(
        (theirs.body["resubmitted"].as_bool(), theirs.body["colour"].as_str(), theirs.body["rule"].as_str()),
        (Some(false), Some("amber"), Some("no_declaration")),
        "{}",
        theirs.text
    );
    assert_ne!(theirs.body["visit_id"], first["visit_id"]);
    // A pass scanned offline before its holder signed out still counts when the batch arrives later.
    other_pass = pass(&t, &other).await;
    let scanned_at = t.app.now().to_rfc3339();
    t.clock.advance(20);
    t.call(Method::DELETE, "/api/v1/sessions/current", Some(&other), None).await;
    let late = t
        .post("/api/v1/scans/batch", Some(&s.checker), json!({"scans": [{"client_id": "late-1", "checkpoint_id": s.gate, "code": other_pass, "scanned_at": scanned_at}]}))
        .await;
    assert_eq!(late.body[0]["answer"]["rule"], "no_declaration", "judged, not refused: {}", late.text);
    assert!(late.body[0]["answer"]["visit_id"].is_i64(), "{}", late.text);
    // Two minutes later the pass has expired.
    let later = pass(&t, &citizen).await;
    t.clock.advance(120);
    assert_eq!(scan(&t, &s.checker, "scan-6", s.gate, &later).await["reason"], "pass_expired");
    // A pass from a session that has ended is refused even while fresh.
    let fresh = pass(&t, &citizen).await;
    t.call(Method::DELETE, "/api/v1/sessions/current", Some(&citizen), None).await;
    assert_eq!(scan(&t, &s.checker, "scan-7", s.gate, &fresh).await["reason"], "pass_session_ended");
    // Only the checkpoint's checkers (and its agency's admins) may scan there.
    let (_, stranger) = t.citizen(103).await;
    let r = t
        .post("/api/v1/scans", Some(&stranger), json!({"client_id": "x1", "checkpoint_id": s.gate, "code": code}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post("/api/v1/scans", Some(&s.checker), json!({"client_id": "bad id!", "checkpoint_id": s.gate, "code": code}))
        .await;
    assert_eq!(r.code(), "invalid_client_scan_id");
    let future = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let r = t
        .post(
            "/api/v1/scans",
            Some(&s.checker),
            json!({"client_id": "f1", "checkpoint_id": s.gate, "code": code, "scanned_at": future}),
        )
        .await;
    assert_eq!(r.code(), "scan_time_in_future");
}

async fn a_poster_url_checks_a_citizen_in_and_out(t: TestApp) {
    let s = site(&t).await;
    let venue = t.get(&format!("/api/v1/checkpoints/{}/venue-code", s.gate), Some(&s.office)).await;
    let url = venue.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:8080/v/VV1"), "{url}");
    let path = url.trim_start_matches("http://127.0.0.1:8080").to_owned();
    // Without a session the page names the venue and asks to sign in, coming back here.
    let anon = t.get(&path, None).await;
    assert_eq!(anon.status, StatusCode::OK);
    assert!(anon.text.contains("Cổng chính") && anon.text.contains(&format!("/signin?next={path}")), "{}", anon.text);
    // A signed-in citizen's page submits itself once; the submission records the visit.
    t.citizen(104).await;
    let a = t
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": "0912000104", "password": "cau-truong-tien-6-vai", "kind": "web"}),
        )
        .await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = t.send(Request::get(&path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(page.text.contains("data-autosubmit"), "{}", page.text);
    let client_id =
        page.text.split("name=\"client_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let post = || {
        Request::post(&path)
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("client_id={client_id}")))
            .unwrap()
    };
    let done = t.send(post()).await;
    assert!(done.text.contains("Đã ghi nhận bạn vào lúc 09:00 27/11/2026"), "{}", done.text);
    t.send(post()).await; // a double tap
    let token = t.sign_in("0912000104", "cau-truong-tien-6-vai").await;
    let visits = t.get("/api/v1/visits", Some(&token)).await;
    assert_eq!(visits.body.as_array().unwrap().len(), 1, "{}", visits.text);
    assert_eq!(
        (visits.body[0]["open"].as_bool(), visits.body[0]["checkpoint_name"].as_str()),
        (Some(true), Some("Cổng chính"))
    );
    assert_eq!(visits.body[0]["ended_at"], "2026-11-27T10:00:00.000Z", "open visits end after the default stay");
    t.clock.advance(3600);
    let out = t.call(Method::POST, "/api/v1/checkins/checkout", Some(&token), None).await;
    assert_eq!((out.status, out.body["ended_at"].as_str()), (StatusCode::OK, Some("2026-11-27T03:00:00.000Z")));
    let visits = t.get("/api/v1/visits", Some(&token)).await;
    assert_eq!(
        (visits.body[0]["open"].as_bool(), visits.body[0]["end_reason"].as_str()),
        (Some(false), Some("checkout"))
    );
    assert_eq!(t.call(Method::POST, "/api/v1/checkins/checkout", Some(&token), None).await.code(), "no_open_visit");
    // The history page shows the day in Vietnam time.
    let history = t.send(Request::get("/visits").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(history.text.contains("27/11/2026") && history.text.contains("09:00–10:00"), "{}", history.text);
}

async fn fake_and_rotated_posters_are_refused(t: TestApp) {
    let s = site(&t).await;
    let (_, citizen) = t.citizen(105).await;
    let first = t.get(&format!("/api/v1/checkpoints/{}/venue-code", s.gate), Some(&s.office)).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // A poster pasted over with a code for another checkpoint id, signed by someone else: refused.
    let mut bytes = first.clone().into_bytes();
    bytes[20] = if bytes[20] == b'Q' { b'R' } else { b'Q' };
    let fake = String::from_utf8(bytes).unwrap();
    let r = t.post("/api/v1/checkins", Some(&citizen), json!({"venue": fake})).await;
    assert_eq!(r.code(), "venue_code_bad_signature", "{}", r.text);
    let page = t.get(&format!("/v/{fake}"), None).await;
    assert!(page.text.contains("giả hoặc đã bị dán đè"), "{}", page.text);
    // Rotation: the old code works for the grace period, then stops.
    let rotated = t
        .post(
            &format!("/api/v1/checkpoints/{}/venue-code/rotation", s.gate),
            Some(&s.office),
            json!({"grace_hours": 24}),
        )
        .await;
    assert_eq!(
        (rotated.status, rotated.body["generation"].as_u64()),
        (StatusCode::CREATED, Some(2)),
        "{}",
        rotated.text
    );
    let second = rotated.body["code"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        t.post("/api/v1/checkins", Some(&citizen), json!({"venue": first.clone()})).await.status,
        StatusCode::CREATED
    );
    t.clock.advance(25 * 3600);
    assert_eq!(t.post("/api/v1/checkins", Some(&citizen), json!({"venue": first})).await.code(), "venue_code_retired");
    let url = format!("http://example.test/v/{second}?src=poster");
    assert_eq!(t.post("/api/v1/checkins", Some(&citizen), json!({"venue": url})).await.status, StatusCode::CREATED);
    // Only the agency's admins rotate.
    let r = t
        .post(&format!("/api/v1/checkpoints/{}/venue-code/rotation", s.gate), Some(&citizen), json!({"grace_hours": 1}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let _ = s.admin;
}

async fn printed_cards_and_offline_batches_count_once(t: TestApp) {
    let s = site(&t).await;
    let mut cards = Vec::new();
    for n in 110..113 {
        let (id, token) = t.citizen(n).await;
        t.declare_well(&token).await;
        let c = t.call(Method::POST, &format!("/api/v1/people/{id}/cards"), Some(&s.office), None).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
        assert_eq!(c.body["initials"], "NVA");
        assert!(c.body["code"].as_str().unwrap().starts_with("VC1"));
        cards.push((id, c.body["id"].as_i64().unwrap(), c.body["code"].as_str().unwrap().to_owned()));
    }
    // A citizen may not issue cards.
    let (_, citizen) = t.citizen(113).await;
    assert_eq!(
        t.call(Method::POST, &format!("/api/v1/people/{}/cards", cards[0].0), Some(&citizen), None).await.status,
        StatusCode::FORBIDDEN
    );
    // Three cards scanned while offline, ten minutes ago; the batch is sent twice. Each scan is
    // judged at its own time: then, the holders had not declared yet (they did at 02:00).
    let at = "2026-11-27T01:50:00Z";
    let batch = json!({"scans": cards.iter().enumerate().map(|(i, c)| json!({"client_id": format!("off-{i}"), "checkpoint_id": s.gate, "code": c.2, "scanned_at": at})).collect::<Vec<_>>()});
    for round in 0..2 {
        let r = t.post("/api/v1/scans/batch", Some(&s.checker), batch.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let items = r.body.as_array().unwrap();
        assert_eq!(items.len(), 3);
        for item in items {
            assert_eq!(item["answer"]["colour"], "amber", "{item}");
            assert_eq!(item["answer"]["rule"], "no_declaration", "{item}");
            assert_eq!(item["answer"]["resubmitted"], round == 1);
            assert_eq!(item["answer"]["scanned_at"], "2026-11-27T01:50:00.000Z");
        }
    }
    let from = vaora_domain::Timestamp(common::START.millis() - 3_600_000);
    let to = vaora_domain::Timestamp(common::START.millis() + 3_600_000);
    let stored = t.db.store.visits_at(vaora_domain::CheckpointId(s.gate), from, to).await.unwrap();
    assert_eq!(stored.len(), 3, "exactly three visits");
    // A bad item fails alone; the others are recorded.
    let mixed = json!({"scans": [
        {"client_id": "m-1", "checkpoint_id": s.gate, "code": cards[0].2},
        {"client_id": "m 2", "checkpoint_id": s.gate, "code": cards[1].2},
        {"client_id": "m-3", "checkpoint_id": s.gate, "code": cards[1].2, "scanned_at": "yesterday"},
        {"client_id": "m-4", "checkpoint_id": 999_999, "code": cards[1].2},
    ]});
    let r = t.post("/api/v1/scans/batch", Some(&s.checker), mixed).await;
    let codes: Vec<Value> = r.body.as_array().unwrap().iter().map(|i| i["error"]["code"].clone()).collect();
    assert_eq!(
        codes,
        [Value::Null, json!("invalid_client_scan_id"), json!("invalid_scan_time"), json!("checkpoint_not_found")],
        "{}",
        r.text
    );
    // A revoked card scans red, with the holder's name for the checker.
    let r = t.call(Method::DELETE, &format!("/api/v1/cards/{}", cards[2].1), Some(&s.office), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let red = scan(&t, &s.checker, "rev-1", s.gate, &cards[2].2).await;
    assert_eq!(
        (red["colour"].as_str(), red["reason"].as_str(), red["display_name"].as_str()),
        (Some("red"), Some("card_revoked"), Some("N. An"))
    );
    assert_eq!(
        scan(&t, &s.checker, "unk-1", s.gate, "VC1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await["reason"],
        "card_unknown"
    );
    let too_many = json!({"scans": (0..1001).map(|i| json!({"client_id": format!("b{i}"), "checkpoint_id": s.gate, "code": "x"})).collect::<Vec<_>>()});
    assert_eq!(t.post("/api/v1/scans/batch", Some(&s.checker), too_many).await.code(), "batch_too_large");
}

async fn visits_follow_the_checkpoint_rules(t: TestApp) {
    let s = site(&t).await;
    let desk = checkpoint(&t, &s, "Bộ phận Một cửa", "both", 60).await;
    let exit = checkpoint(&t, &s, "Cổng phụ", "exit", 480).await;
    let (_, citizen) = t.citizen(120).await;
    let mut codes = Vec::new();
    for cp in [s.gate, desk, exit] {
        codes.push(
            t.get(&format!("/api/v1/checkpoints/{cp}/venue-code"), Some(&s.office)).await.body["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (gate_code, desk_code, exit_code) = (codes[0].clone(), codes[1].clone(), codes[2].clone());
    let check_in = |venue: String| {
        let citizen = citizen.clone();
        let t = &t;
        async move { t.post("/api/v1/checkins", Some(&citizen), json!({"venue": venue})).await }
    };
    let v1 = check_in(gate_code.clone()).await.body["id"].as_i64().unwrap();
    t.clock.advance(600);
    let again = check_in(gate_code.clone()).await;
    assert_eq!(again.body["id"].as_i64(), Some(v1), "the same venue extends the visit");
    assert_eq!(again.body["ended_at"], "2026-11-27T10:10:00.000Z");
    t.clock.advance(600);
    let v2 = check_in(desk_code.clone()).await.body["id"].as_i64().unwrap();
    assert_ne!(v2, v1);
    t.clock.advance(600);
    let closed = check_in(desk_code).await;
    assert_eq!(
        (closed.body["id"].as_i64(), closed.body["open"].as_bool(), closed.body["end_reason"].as_str()),
        (Some(v2), Some(false), Some("exit")),
        "a second scan at an entry-and-exit desk ends the visit"
    );
    t.clock.advance(600);
    check_in(gate_code).await;
    t.clock.advance(600);
    let out = check_in(exit_code).await;
    assert_eq!(out.body["end_reason"], "exit");
    let visits = t.get("/api/v1/visits", Some(&citizen)).await;
    let summary: Vec<(String, String)> = visits
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["checkpoint_name"].as_str().unwrap().to_owned(), v["end_reason"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [("Cổng chính", "exit"), ("Bộ phận Một cửa", "exit"), ("Cổng chính", "moved")];
    assert_eq!(summary, expected.map(|(a, b)| (a.to_owned(), b.to_owned())), "{}", visits.text);
}

async fn visits_are_deleted_after_the_retention_period(t: TestApp) {
    let s = site(&t).await;
    let (_, citizen) = t.citizen(121).await;
    let code = t.get(&format!("/api/v1/checkpoints/{}/venue-code", s.gate), Some(&s.office)).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let check_in = async || t.post("/api/v1/checkins", Some(&citizen), json!({"venue": code})).await;
    assert_eq!(check_in().await.status, StatusCode::CREATED);
    // 28 days later the day of the visit is still kept; the day after, it is not.
    t.clock.advance(28 * 86_400);
    assert_eq!(check_in().await.status, StatusCode::CREATED);
    assert!(t.app.purge_expired_visits().await.unwrap().is_empty());
    t.clock.advance(86_400);
    let purged = t.app.purge_expired_visits().await.unwrap();
    assert_eq!((purged.visits, purged.scans, purged.arrivals, purged.notices), (1, 1, 1, 0));
    assert!(t.app.purge_expired_visits().await.unwrap().is_empty(), "swept up to this day already");
    let visits = t.get("/api/v1/visits?days=28", Some(&citizen)).await;
    assert_eq!(visits.body.as_array().unwrap().len(), 1, "the later visit stays: {}", visits.text);
    let audit = t.get("/api/v1/audit?action=visits_purged", Some(&s.admin)).await;
    let entries = audit.body.as_array().unwrap();
    assert_eq!(entries.len(), 1, "one entry for the sweep that deleted: {}", audit.text);
    assert_eq!(entries[0]["details"]["visits"], 1, "{}", audit.text);
}

async fn a_person_downloads_everything_held_about_them(t: TestApp) {
    let s = site(&t).await;
    let (_, citizen) = t.citizen(122).await;
    t.declare_well(&citizen).await;
    // The agency has them on its roster; a checker scans their pass; an officer looks them up.
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let line = json!({"unit_id": unit.body["id"], "full_name": "Nguyễn Văn An", "position": "Chuyên viên", "phone": "0912000122"});
    let r = t.post(&format!("/api/v1/agencies/{}/roster", s.agency), Some(&s.office), line).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let code = pass(&t, &citizen).await;
    assert_eq!(scan(&t, &s.checker, "dl-1", s.gate, &code).await["colour"], "green");
    assert_eq!(t.get("/api/v1/people?q=0912000122", Some(&s.office)).await.status, StatusCode::OK);
    // A child they declare for, with a fever.
    let child = json!({"full_name": "Nguyễn Thị Mai", "birth_date": "2016-05-04", "sex": "female",
        "cccd": "046316000261", "relation": "child", "address_unit": "19789", "address_street": "2 Lê Lợi"});
    let mai = t.post("/api/v1/dependants", Some(&citizen), child).await.body["id"].as_i64().unwrap();
    let r =
        t.post(&format!("/api/v1/dependants/{mai}/declarations"), Some(&citizen), json!({"symptoms": ["fever"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Someone else at the same gate.
    let (_, other) = t.citizen(123).await;
    t.declare_well(&other).await;
    let other_code = pass(&t, &other).await;
    assert_eq!(scan(&t, &s.checker, "dl-2", s.gate, &other_code).await["colour"], "green");

    let r = t.get("/api/v1/me/data", Some(&citizen)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let disposition = r.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"vaora-du-lieu-ca-nhan-2026-11-27"), "{disposition}");
    let d = &r.body;
    assert_eq!(d["profile"]["cccd"], "046085000122", "their own identifiers, in the clear");
    assert_eq!(d["retention_days"], 28);
    let visits = d["visits"].as_array().unwrap();
    assert_eq!((visits.len(), visits[0]["checkpoint_name"].as_str()), (1, Some("Cổng chính")), "{}", r.text);
    assert_eq!(d["declarations"].as_array().unwrap().len(), 1);
    assert!(d["declarations"][0]["answers"]["symptoms"].is_array(), "with the answers: {}", r.text);
    assert_eq!(
        (d["rosters"][0]["unit_name"].as_str(), d["rosters"][0]["position"].as_str()),
        (Some("Văn phòng"), Some("Chuyên viên"))
    );
    assert_eq!(d["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(d["dependants"][0]["full_name"], "Nguyễn Thị Mai");
    let theirs = &d["dependant_declarations"][0];
    assert_eq!(
        (theirs["user_id"].as_i64(), theirs["declarations"][0]["answers"]["symptoms"][0].as_str()),
        (Some(mai), Some("fever"))
    );
    let accesses: Vec<&str> = d["accesses"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(accesses, ["person_viewed"], "what others did, not what they did themselves");
    assert!(!r.text.contains("046085000123") && !r.text.contains("0912000101"), "nobody else's data");
    let audit = t.get("/api/v1/audit?action=personal_data_exported", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().unwrap().len(), 1, "{}", audit.text);
    assert_eq!(t.get("/api/v1/me/data", None).await.status, StatusCode::UNAUTHORIZED);
    // The account page offers the download.
    let cookie = web_cookie(&t, "0912000122").await;
    let account = page(&t, "/me", &cookie).await;
    assert!(
        account.text.contains("href=\"/api/v1/me/data\"") && account.text.contains("giữ 28 ngày"),
        "{}",
        account.text
    );
}

async fn a_person_deletes_their_account(t: TestApp) {
    let s = site(&t).await;
    let (id, citizen) = t.citizen(124).await;
    t.declare_well(&citizen).await;
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let line = json!({"unit_id": unit.body["id"], "full_name": "Nguyễn Văn An", "position": "Chuyên viên", "phone": "0912000124"});
    assert_eq!(
        t.post(&format!("/api/v1/agencies/{}/roster", s.agency), Some(&s.office), line).await.status,
        StatusCode::CREATED
    );
    let code = pass(&t, &citizen).await;
    assert_eq!(scan(&t, &s.checker, "del-1", s.gate, &code).await["colour"], "green");
    let shown = t.get("/api/v1/me", Some(&citizen)).await.body["display_name"].as_str().unwrap().to_owned();
    let recent_scans = async || t.get(&format!("/api/v1/agencies/{}/scans", s.agency), Some(&s.office)).await;
    let before = recent_scans().await;
    assert!(before.text.contains(&format!("\"{shown}\"")), "{}", before.text);
    let child = json!({"full_name": "Nguyễn Thị Mai", "birth_date": "2016-05-04", "sex": "female",
        "cccd": "046316000262", "relation": "child", "address_unit": "19789", "address_street": "2 Lê Lợi"});
    assert_eq!(t.post("/api/v1/dependants", Some(&citizen), child).await.status, StatusCode::CREATED);
    let delete = async |token: &str, password: &str| {
        t.post("/api/v1/me/deletion", Some(token), json!({"password": password})).await
    };

    // A checker holds a role; a wrong password deletes nothing; nor does an open case.
    let r = delete(&s.checker, "cau-truong-tien-6-vai").await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "account_has_roles"), "{}", r.text);
    let r = delete(&citizen, "not-the-password").await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"), "{}", r.text);
    let (official, health) = t.citizen(125).await;
    let grant = json!({"role": "health_official"});
    assert_eq!(
        t.post(&format!("/api/v1/people/{official}/grants"), Some(&s.admin), grant).await.status,
        StatusCode::NO_CONTENT
    );
    let case = json!({"phone": "0912000124", "status": "suspected", "basis": "onset", "basis_date": "2026-11-27"});
    let opened = t.post("/api/v1/cases", Some(&health), case).await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let r = delete(&citizen, "cau-truong-tien-6-vai").await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "account_under_case"), "{}", r.text);
    let closing = json!({"status": "closed"});
    let r = t.call(Method::PATCH, &format!("/api/v1/cases/{}", opened.body["id"]), Some(&health), Some(closing)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The account page leads to the deletion page, which names the dependant going with it and
    // asks for the password and a confirmation.
    let cookie = web_cookie(&t, "0912000124").await;
    assert!(page(&t, "/me", &cookie).await.text.contains("href=\"/me/delete\""));
    let form = page(&t, "/me/delete", &cookie).await;
    assert!(form.text.contains("Tài khoản của 1 người thân"), "{}", form.text);
    let post = |body: &str| {
        Request::post("/me/delete")
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let unconfirmed = t.send(post("password=cau-truong-tien-6-vai")).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unconfirmed.text.contains("Hãy đánh dấu vào ô xác nhận"), "{}", unconfirmed.text);
    let wrong = t.send(post("password=sai&confirm=yes")).await;
    assert!(wrong.text.contains("Mật khẩu không đúng."), "{}", wrong.text);
    let done = t.send(post("password=cau-truong-tien-6-vai&confirm=yes")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(
        done.text.contains("Tài khoản của bạn đã được xoá.")
            && done.text.contains("Đã xoá 1 lượt ra vào, 1 tờ khai y tế và 1 tài khoản người thân."),
        "{}",
        done.text
    );
    assert!(done.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"), "the cookie is cleared");

    // Gone: both sessions, the sign-in, the person for officers, the visit for the checker's
    // screen; the roster line stays, unlinked; the numbers can register again.
    assert_eq!(t.get("/api/v1/me", Some(&citizen)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page(&t, "/me", &cookie).await.status, StatusCode::SEE_OTHER);
    let r = t.post("/api/v1/sessions", None, json!({"phone": "0912000124", "password": "cau-truong-tien-6-vai"})).await;
    assert_eq!(r.code(), "invalid_credentials");
    assert_eq!(t.get("/api/v1/people?q=0912000124", Some(&s.office)).await.code(), "person_not_found");
    let recent = recent_scans().await;
    assert_eq!(recent.body.as_array().unwrap().len(), before.body.as_array().unwrap().len(), "{}", recent.text);
    assert!(!recent.text.contains(&format!("\"{shown}\"")), "the scan no longer names them: {}", recent.text);
    let roster = t.get(&format!("/api/v1/agencies/{}/roster", s.agency), Some(&s.office)).await;
    assert_eq!(roster.body.as_array().unwrap().len(), 1, "{}", roster.text);
    assert!(roster.body[0]["user_id"].is_null(), "{}", roster.text);
    let audit = t.get("/api/v1/audit?action=account_deleted", Some(&s.admin)).await;
    let entries = audit.body.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    assert_eq!((entries[0]["subject"].as_i64(), entries[0]["details"]["dependants"].as_i64()), (Some(id), Some(1)));
    assert!(t.register(person(124)).await > id);
}

async fn keys_are_published_and_rotate_without_breaking_passes(t: TestApp) {
    let s = site(&t).await;
    let keys = t.get("/.well-known/vaora-keys.json", None).await;
    let list = keys.body["keys"].as_array().unwrap();
    let purposes: Vec<&str> = list.iter().map(|k| k["purpose"].as_str().unwrap()).collect();
    assert!(purposes.contains(&"pass") && purposes.contains(&"venue"), "{}", keys.text);
    let (_, citizen) = t.citizen(130).await;
    t.declare_well(&citizen).await;
    let before = pass(&t, &citizen).await;
    let set: vaora_app::keys::KeySet = serde_json::from_value(keys.body.clone()).unwrap();
    let verdict = vaora_app::checkins::verify_offline(&before, &set, t.app.now());
    assert!(verdict.valid, "{verdict:?}");
    // Rotation: a new key signs, the old one still verifies the passes it signed.
    let r = t.post("/api/v1/keys/rotation", Some(&s.admin), json!({"purpose": "pass"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        t.post("/api/v1/keys/rotation", Some(&s.office), json!({"purpose": "pass"})).await.status,
        StatusCode::FORBIDDEN
    );
    let after = pass(&t, &citizen).await;
    let new_set: vaora_app::keys::KeySet =
        serde_json::from_value(t.get("/.well-known/vaora-keys.json", None).await.body).unwrap();
    let old_kid = verdict.kid.unwrap();
    let new_kid = vaora_app::checkins::verify_offline(&after, &new_set, t.app.now()).kid.unwrap();
    assert_ne!(old_kid, new_kid);
    assert!(vaora_app::checkins::verify_offline(&before, &new_set, t.app.now()).valid);
    assert_eq!(scan(&t, &s.checker, "k-1", s.gate, &before).await["colour"], "green");
    // An offline batch fetched before a rotation keeps working for the day it covers.
    let batch = t.call(Method::POST, "/api/v1/passes/batch?hours=3", Some(&citizen), None).await;
    assert_eq!(batch.status, StatusCode::CREATED, "{}", batch.text);
    t.post("/api/v1/keys/rotation", Some(&s.admin), json!({"purpose": "pass"})).await;
    t.clock.advance(2 * 3600 + 30);
    let minute = batch.body.as_array().unwrap().iter().find(|p| {
        let from = chrono::DateTime::parse_from_rfc3339(p["valid_from"].as_str().unwrap()).unwrap().timestamp_millis();
        (from..from + 60_000).contains(&t.app.now().millis())
    });
    let code = minute.unwrap()["code"].as_str().unwrap().to_owned();
    assert_eq!(scan(&t, &s.checker, "k-batch", s.gate, &code).await["colour"], "green");
    // Offline verification tells what is wrong.
    assert_eq!(
        vaora_app::checkins::verify_offline(&before, &new_set, t.app.now().plus_seconds(600)).error.as_deref(),
        Some("pass_expired")
    );
    let empty = vaora_app::keys::KeySet { issuer: String::new(), keys: Vec::new() };
    assert_eq!(
        vaora_app::checkins::verify_offline(&before, &empty, t.app.now()).error.as_deref(),
        Some("pass_unknown_key")
    );
}

/// A web session's cookie for a registered person.
async fn page(t: &TestApp, path: &str, cookie: &str) -> common::Answer {
    t.send(Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
}

async fn the_pass_and_checker_screens_work(t: TestApp) {
    let s = site(&t).await;
    t.citizen(104).await;
    let citizen = web_cookie(&t, "0912000104").await;
    // My pass: the frame, the texts its script needs, the encoder and the script.
    let pass = page(&t, "/pass", &citizen).await;
    assert_eq!(pass.status, StatusCode::OK);
    for needle in ["id=\"pass-qr\"", "\"pass.refresh_in\":\"Mã tự làm mới sau\"", "/vendor/qrcode.js", "/pass.js"]
    {
        assert!(pass.text.contains(needle), "{needle} in {}", pass.text);
    }
    assert!(!pass.text.contains("href=\"/check\""), "a citizen is not offered the checker screen");
    assert_eq!(page(&t, "/pass", "vaora_session=nope").await.status, StatusCode::SEE_OTHER);
    // The scripts it names are served, compressed for browsers that accept gzip.
    let version = pass.text.split("src=\"/assets/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let assets = format!("/assets/{version}");
    let js = t
        .send(
            Request::get(format!("{assets}/vendor/jsqr.js"))
                .header(header::ACCEPT_ENCODING, "gzip, br")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (js.status, js.headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap())),
        (StatusCode::OK, Some("gzip"))
    );
    assert!(js.raw.len() < 80_000, "jsQR compressed is {} bytes", js.raw.len());
    let plain = t.get(&format!("{assets}/scan.js"), None).await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none() && plain.text.contains("BarcodeDetector"));

    // The checker picks their checkpoint and scans a pass with the no-script form.
    let checker = web_cookie(&t, "0912000101").await;
    let pick = page(&t, "/check", &checker).await;
    assert!(
        pick.text.contains(&format!("href=\"/check/{}\"", s.gate)) && pick.text.contains("Cổng chính"),
        "{}",
        pick.text
    );
    let screen = page(&t, &format!("/check/{}", s.gate), &checker).await;
    assert!(
        screen.text.contains("\"reason.pass_already_used\"") && screen.text.contains("/vendor/jsqr.js"),
        "{}",
        screen.text
    );
    assert_eq!(page(&t, &format!("/check/{}", s.gate), &citizen).await.status, StatusCode::FORBIDDEN);
    let token = t.sign_in("0912000104", "cau-truong-tien-6-vai").await;
    t.declare_well(&token).await;
    let code =
        t.call(Method::POST, "/api/v1/passes", Some(&token), None).await.body["code"].as_str().unwrap().to_owned();
    let scan = |client_id: &str| {
        Request::post(format!("/check/{}", s.gate))
            .header(header::COOKIE, &checker)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("client_id={client_id}&code={}", code.to_lowercase())))
            .unwrap()
    };
    let green = t.send(scan("form-1")).await;
    assert!(green.text.contains("class=\"answer green\"") && green.text.contains("Hợp lệ"), "{}", green.text);
    let again = t.send(scan("form-2")).await;
    assert!(
        again.text.contains("class=\"answer red\"") && again.text.contains("Mã này đã được quét tại đây"),
        "{}",
        again.text
    );

    // The office sees both scans, newest first, with the answer the checker saw; looking is audited.
    let recent = t.get(&format!("/api/v1/agencies/{}/scans", s.agency), Some(&s.office)).await;
    assert_eq!(recent.status, StatusCode::OK, "{}", recent.text);
    let rows: Vec<(&str, Option<&str>, Option<&str>)> = recent
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["colour"].as_str().unwrap(), r["reason"].as_str(), r["display_name"].as_str()))
        .collect();
    assert_eq!(rows, vec![("red", Some("pass_already_used"), Some("N. An")), ("green", None, Some("N. An"))]);
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{}/scans", s.agency), Some(&s.checker)).await.status,
        StatusCode::FORBIDDEN
    );
    let office_cookie = web_cookie(&t, "0912000100").await;
    let listing = page(&t, &format!("/agencies/{}/scans", s.agency), &office_cookie).await;
    assert!(listing.text.contains("N. An") && listing.text.contains("Mã này đã được quét tại đây"), "{}", listing.text);
    let audit = t.get("/api/v1/audit?action=recent_scans_viewed", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().map(Vec::len), Some(2), "{}", audit.text);
    // The province admin reads the same in the audit log page; nobody else may.
    let admin_cookie = web_cookie(&t, "0912000900").await;
    let log = page(&t, "/admin/audit?action=recent_scans_viewed", &admin_cookie).await;
    assert_eq!(log.status, StatusCode::OK);
    assert_eq!(log.text.matches("<strong>recent_scans_viewed</strong>").count(), 2, "{}", log.text);
    assert!(!log.text.contains("<strong>scan_recorded</strong>"), "the filter holds");
    assert_eq!(page(&t, "/admin/audit", &office_cookie).await.status, StatusCode::FORBIDDEN);

    // The office prints cards for chosen roster staff from the roster page.
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let unit = unit.body["id"].as_i64().unwrap();
    let added = t
        .post(
            &format!("/api/v1/agencies/{}/roster", s.agency),
            Some(&s.office),
            json!({"unit_id": unit, "full_name": "Nguyễn Văn An", "phone": "0912000104"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let roster = page(&t, &format!("/agencies/{}/roster", s.agency), &office_cookie).await;
    let holder = roster.text.split("name=\"people\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let print = |body: String| {
        Request::post(format!("/agencies/{}/cards", s.agency))
            .header(header::COOKIE, &office_cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let pdf = t.send(print(format!("people={holder}"))).await;
    assert_eq!((pdf.status, &pdf.raw[..5]), (StatusCode::OK, &b"%PDF-"[..]), "{}", pdf.text);
    assert!(pdf.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let none = t.send(print(String::new())).await;
    assert!(none.text.contains("role=\"alert\""), "choosing nobody is refused: {}", none.text);

    // Users and roles: the province admin finds the checker, gives and takes back a role.
    let found = page(&t, "/admin/people?q=0912000101", &admin_cookie).await;
    assert!(found.text.contains("Người kiểm tra · Cổng chính · "), "the checkpoint by name: {}", found.text);
    let user_id = found.text.split("action=\"/admin/people/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let change = |body: &str| {
        Request::post(format!("/admin/people/{user_id}/roles"))
            .header(header::COOKIE, &admin_cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    assert_eq!(t.send(change("q=0912000101&role=health_official&agency_id=")).await.status, StatusCode::SEE_OTHER);
    assert!(page(&t, "/admin/people?q=0912000101", &admin_cookie).await.text.contains("<span>Cán bộ y tế</span>"));
    assert_eq!(t.send(change("q=0912000101&role=health_official&revoke=1")).await.status, StatusCode::SEE_OTHER);
    assert!(!page(&t, "/admin/people?q=0912000101", &admin_cookie).await.text.contains("<span>Cán bộ y tế</span>"));
    let missing = t.send(change("q=0912000101&role=agency_admin&agency_id=")).await;
    assert!(missing.text.contains("role=\"alert\""), "a role without its agency is refused: {}", missing.text);
    assert_eq!(page(&t, "/admin/people?q=0912000101", &office_cookie).await.status, StatusCode::FORBIDDEN);

    // Installable: the manifest opens My pass, its icons are real PNGs, and the service worker
    // knows this build's assets.
    let manifest = t.get("/manifest.webmanifest", None).await;
    assert_eq!((manifest.body["start_url"].as_str(), manifest.body["lang"].as_str()), (Some("/pass"), Some("vi")));
    let icon = t.get("/icon-512.png", None).await;
    assert_eq!(&icon.raw[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(icon.raw[16..20].try_into().unwrap()), 512, "width");
    let sw = t.get("/sw.js", None).await;
    assert!(sw.text.starts_with(&format!("const VERSION = \"{version}\";")), "{}", &sw.text[..80]);
    assert_eq!(sw.headers[header::CACHE_CONTROL], "no-cache");
}
