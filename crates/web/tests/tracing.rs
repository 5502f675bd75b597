//! Tracing flows at the demo agency: visits built by hand through the checker's scans, a case
//! opened by a health official, exactly the expected F1 and F2, spaces, exports, the graph, and
//! exposure notices that reach their people and change their status; on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{START, TestApp};
use serde_json::{Value, json};
use vaora_domain::Timestamp;

both_engines!(contacts_at_the_demo_agency_are_found_and_notified, tracing_is_for_health_officials_through_a_case);

const MIN: i64 = 60;

/// The demo, loaded: the health official's, the office admin's and the checker's tokens, the
/// agency and its checkpoints.
struct Demo {
    admin: String,
    health: String,
    office: String,
    checker: String,
    agency: i64,
    /// The main gate (entry, 8-hour stay).
    gate: i64,
    /// The one-stop desk (entry and exit, 1-hour stay).
    desk: i64,
}

async fn demo(t: &TestApp) -> Demo {
    let summary = t.app.load_demo(7, 7).await.unwrap();
    assert!(summary.past_visits > 1_000, "the demo's last two weeks: {}", summary.past_visits);
    // Packed for tracing, as `vaora serve` does at start.
    assert!(t.app.pack_visits().await.unwrap() > 0);
    let token = |role: &str| {
        let a = summary.accounts.iter().find(|a| serde_json::to_value(a.role).unwrap() == json!(role)).unwrap();
        (a.phone.clone(), a.password.clone())
    };
    let (phone, password) = token("province_admin");
    let admin = t.sign_in(&phone, &password).await;
    let (phone, password) = token("health_official");
    let health = t.sign_in(&phone, &password).await;
    let (phone, password) = token("agency_admin");
    let office = t.sign_in(&phone, &password).await;
    let (phone, password) = token("checker");
    let checker = t.sign_in(&phone, &password).await;
    let me = t.get("/api/v1/me", Some(&office)).await;
    let agency = me.body["roles"].as_array().unwrap().iter().find_map(|r| r["agency_id"].as_i64()).unwrap();
    let list = t.get(&format!("/api/v1/agencies/{agency}/checkpoints"), Some(&office)).await;
    let named = |prefix: &str| {
        list.body.as_array().unwrap().iter().find(|c| c["name"].as_str().unwrap().starts_with(prefix)).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (gate, desk) = (named("Cổng chính"), named("Bộ phận Một cửa"));
    Demo { admin, health, office, checker, agency, gate, desk }
}

/// Sets the clock to `minutes` after 11:00 on the test's day (the accounts were made at 09:00,
/// and a pass counts only from its session's start).
fn at(t: &TestApp, minutes: i64) {
    t.clock.set(Timestamp(START.0 + (120 + minutes) * MIN * 1000));
}

/// The checker scans the person's pass at a checkpoint now; the answer.
async fn scan(t: &TestApp, d: &Demo, person: &str, checkpoint: i64, id: &str) -> Value {
    let code =
        t.call(Method::POST, "/api/v1/passes", Some(person), None).await.body["code"].as_str().unwrap().to_owned();
    let r = t
        .post("/api/v1/scans", Some(&d.checker), json!({"client_id": id, "checkpoint_id": checkpoint, "code": code}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn check_out(t: &TestApp, person: &str) {
    let r = t.call(Method::POST, "/api/v1/checkins/checkout", Some(person), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn names_by_degree(trace: &Value, degree: i64) -> Vec<String> {
    let mut names: Vec<String> = trace["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["degree"].as_i64() == Some(degree))
        .map(|c| c["full_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Registers person `n` under a name of their own, signed in.
async fn person(t: &TestApp, n: u32, name: &str) -> (i64, String) {
    let mut p = common::person(n);
    p["full_name"] = json!(name);
    let id = t.register(p.clone()).await;
    (id, t.sign_in(p["phone"].as_str().unwrap(), "cau-truong-tien-6-vai").await)
}

async fn contacts_at_the_demo_agency_are_found_and_notified(t: TestApp) {
    let d = demo(&t).await;
    let (gate, desk) = (d.gate, d.desk);
    let (_, an) = person(&t, 1, "Nguyễn Văn An").await; // the case
    let (binh_id, binh) = person(&t, 2, "Trần Thị Bình").await;
    let (chi_id, chi) = person(&t, 3, "Lê Văn Chí").await;
    let (dung_id, dung) = person(&t, 4, "Phạm Thị Dung").await;
    let (_, em) = person(&t, 5, "Hồ Văn Em").await;

    // At the main gate: Em 10:00–10:40, An 11:00–12:00, Bình 12:10–13:00 (within An's 15-minute
    // buffer), Chí 12:20–12:40 (after the buffer, but with Bình). At the one-stop desk, Dung
    // 11:30–11:45 (both-mode: her second scan ends the visit).
    at(&t, -60);
    scan(&t, &d, &em, gate, "em-1").await;
    at(&t, -20);
    check_out(&t, &em).await;
    at(&t, 0);
    scan(&t, &d, &an, gate, "an-1").await;
    at(&t, 30);
    scan(&t, &d, &dung, desk, "dung-1").await;
    at(&t, 45);
    scan(&t, &d, &dung, desk, "dung-2").await;
    at(&t, 60);
    check_out(&t, &an).await;
    at(&t, 70);
    scan(&t, &d, &binh, gate, "binh-1").await;
    at(&t, 80);
    scan(&t, &d, &chi, gate, "chi-1").await;
    at(&t, 100);
    check_out(&t, &chi).await;
    at(&t, 120);
    check_out(&t, &binh).await;

    // Next morning An tests positive.
    at(&t, 24 * 60);
    let date = "2026-11-28";
    let r = t
        .post(
            "/api/v1/cases",
            Some(&d.health),
            json!({"phone": "0912000001", "status": "confirmed", "basis": "test", "basis_date": date}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["full_name"], "Nguyễn Văn An");
    assert_eq!(r.body["window_from"], "2026-11-25T17:00:00.000Z", "two days before the test, from midnight in Vietnam");
    assert_eq!((r.body["buffer_minutes"].as_i64(), r.body["depth"].as_i64()), (Some(15), Some(2)));
    let again = t
        .post(
            "/api/v1/cases",
            Some(&d.health),
            json!({"cccd": "046085000001", "status": "suspected", "basis": "onset", "basis_date": date}),
        )
        .await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "case_open"));

    let trace = t.get(&format!("/api/v1/cases/{case}/contacts"), Some(&d.health)).await;
    assert_eq!(trace.status, StatusCode::OK, "{}", trace.text);
    assert_eq!(names_by_degree(&trace.body, 1), ["Trần Thị Bình"]);
    assert_eq!(names_by_degree(&trace.body, 2), ["Lê Văn Chí"]);
    assert_eq!((trace.body["f1"].as_i64(), trace.body["f2"].as_i64()), (Some(1), Some(1)));
    let binh_row = &trace.body["contacts"][0];
    assert_eq!(binh_row["phone"], "+84912000002");
    let exposure = &binh_row["exposures"][0];
    assert_eq!(
        (exposure["from"].as_str(), exposure["to"].as_str()),
        (Some("2026-11-27T05:10:00.000Z"), Some("2026-11-27T05:15:00.000Z"))
    );
    assert_eq!((exposure["via_name"].as_str(), exposure["overlap_minutes"].as_i64()), (Some("F0"), Some(5)));
    assert_eq!(exposure["checkpoint"], "Cổng chính – 100 Hàm Nghi");
    let chi_row = &trace.body["contacts"][1];
    assert_eq!(chi_row["exposures"][0]["via"].as_i64(), Some(binh_id), "Chí through Bình");
    assert_eq!(trace.body["stays"].as_array().unwrap().len(), 1);
    assert_eq!(trace.body["timeline"][0]["bars"].as_array().unwrap().len(), 3, "An, Bình and Chí at the gate");
    // The server packs yesterday's visits for tracing (one pack per checkpoint); a trace then
    // reads the packs and finds the same.
    assert_eq!(t.app.pack_visits().await.unwrap(), 2);
    assert_eq!(t.app.pack_visits().await.unwrap(), 0, "nothing is left to pack");
    let packed = t.get(&format!("/api/v1/cases/{case}/contacts"), Some(&d.health)).await;
    assert_eq!(
        (&packed.body["contacts"], &packed.body["timeline"]),
        (&trace.body["contacts"], &trace.body["timeline"])
    );

    // The gate and the desk are one building: Dung, at the desk during An's stay, becomes an F1.
    let r = t
        .post(
            &format!("/api/v1/agencies/{}/spaces", d.agency),
            Some(&d.office),
            json!({"name": "Trụ sở", "checkpoints": [gate, desk]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let trace = t.get(&format!("/api/v1/cases/{case}/contacts"), Some(&d.health)).await;
    assert_eq!(names_by_degree(&trace.body, 1), ["Phạm Thị Dung", "Trần Thị Bình"]);
    assert_eq!(names_by_degree(&trace.body, 2), ["Lê Văn Chí"]);
    // A minimum overlap of ten minutes drops Bình (five minutes) and so Chí.
    let r = t
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(&d.health),
            Some(json!({"min_overlap_minutes": 10})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let narrow = t.get(&format!("/api/v1/cases/{case}/contacts"), Some(&d.health)).await;
    assert_eq!(names_by_degree(&narrow.body, 1), ["Phạm Thị Dung"]);
    assert!(names_by_degree(&narrow.body, 2).is_empty());
    t.call(Method::PATCH, &format!("/api/v1/cases/{case}"), Some(&d.health), Some(json!({"min_overlap_minutes": 0})))
        .await;

    // Exports and the graph.
    let csv = t.get(&format!("/api/v1/cases/{case}/contacts.csv"), Some(&d.health)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.text.starts_with('\u{feff}'), "a byte-order mark for Excel");
    assert!(csv.text.contains("Trần Thị Bình") && csv.text.contains("Phạm Thị Dung") && csv.text.contains("F2"));
    assert_eq!(csv.text.lines().count(), 4, "a header and one row per exposure: {}", csv.text);
    let xlsx = t.get(&format!("/api/v1/cases/{case}/contacts.xlsx"), Some(&d.health)).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.raw.starts_with(b"PK"), "a zip archive");
    let svg = t.get(&format!("/api/v1/cases/{case}/graph.svg"), Some(&d.health)).await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.text.matches("class=\"node\"").count(), 4, "F0 and three contacts");
    assert_eq!(svg.text.matches("class=\"edge\"").count(), 3);

    // Notices to Bình and Chí (not Dung yet); Em is no contact.
    let r =
        t.post(&format!("/api/v1/cases/{case}/notices"), Some(&d.health), json!({"users": [binh_id, chi_id]})).await;
    assert_eq!((r.status, r.body["sent"].as_i64()), (StatusCode::OK, Some(2)), "{}", r.text);
    let em_id = t.get("/api/v1/me", Some(&em)).await.body["id"].as_i64().unwrap();
    let r = t.post(&format!("/api/v1/cases/{case}/notices"), Some(&d.health), json!({"users": [em_id]})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "notice_not_a_contact"));

    let mine = t.get("/api/v1/notices", Some(&binh)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.text);
    let n = &mine.body[0];
    assert_eq!((n["degree"].as_i64(), n["active"].as_bool()), (Some(1), Some(true)));
    assert_eq!(n["checkpoint"], "Cổng chính – 100 Hàm Nghi");
    assert_eq!(n["exposed_from"], "2026-11-27T05:10:00.000Z");
    assert!(
        !mine.text.contains("Nguyễn Văn An") && !mine.text.contains("\"case"),
        "never who the case is: {}",
        mine.text
    );
    let r = t.call(Method::POST, &format!("/api/v1/notices/{}/read", n["id"]), Some(&binh), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.call(Method::POST, &format!("/api/v1/notices/{}/read", n["id"]), Some(&chi), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "notice_not_found"), "not Chí's");
    assert!(t.get("/api/v1/notices", Some(&dung)).await.body.as_array().unwrap().is_empty());
    let trace = t.get(&format!("/api/v1/cases/{case}/contacts"), Some(&d.health)).await;
    assert!(
        trace.body["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["user_id"].as_i64() == Some(binh_id) && c["notice_read_at"].is_string())
    );
    assert!(
        trace.body["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["user_id"].as_i64() == Some(dung_id) && c["notice_sent_at"].is_null())
    );

    // At the gate: the case red, Bình red as an F1, Chí amber as an F2, each naming the rule.
    for (token, colour, rule) in
        [(&an, "red", "confirmed_case"), (&binh, "red", "exposure_f1"), (&chi, "amber", "exposure_f2")]
    {
        t.declare_well(token).await;
        let answer = scan(&t, &d, token, gate, &format!("after-{rule}")).await;
        assert_eq!((answer["colour"].as_str(), answer["rule"].as_str()), (Some(colour), Some(rule)), "{answer}");
    }
    t.declare_well(&dung).await;
    let answer = scan(&t, &d, &dung, gate, "after-dung").await;
    assert_eq!(answer["colour"], "green", "no notice, no mark");

    // Every step is in the audit log with the case's id.
    let audit = t.get("/api/v1/audit?limit=500", Some(&d.admin)).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let entries: Vec<&Value> = audit.body.as_array().unwrap().iter().filter(|e| e["target_kind"] == "case").collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["case_opened", "case_traced", "case_updated", "case_exported", "notices_sent"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(entries.iter().all(|e| e["target_id"] == json!(case.to_string())), "{entries:?}");
}

async fn tracing_is_for_health_officials_through_a_case(t: TestApp) {
    let d = demo(&t).await;
    let (_, citizen) = person(&t, 1, "Nguyễn Văn An").await;
    for token in [&citizen, &d.office, &d.checker] {
        let r = t.get("/api/v1/cases", Some(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = t.get("/api/v1/cases/1/contacts", Some(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = t.get("/api/v1/cases/999/contacts", Some(&d.health)).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "case_not_found"));
    let bad = [
        (json!({"status": "confirmed", "basis": "test", "basis_date": "2026-11-27"}), "case_person_required"),
        (
            json!({"phone": "0912000001", "cccd": "046085000001", "status": "confirmed", "basis": "test", "basis_date": "2026-11-27"}),
            "case_person_required",
        ),
        (
            json!({"phone": "0912000001", "status": "closed", "basis": "test", "basis_date": "2026-11-27"}),
            "case_status_invalid",
        ),
        (
            json!({"phone": "0912000001", "status": "confirmed", "basis": "rumour", "basis_date": "2026-11-27"}),
            "case_basis_invalid",
        ),
        (
            json!({"phone": "0912000001", "status": "confirmed", "basis": "test", "basis_date": "2026-11-30"}),
            "case_date_in_future",
        ),
        (
            json!({"phone": "0912000001", "status": "confirmed", "basis": "test", "basis_date": "2026-10-01"}),
            "case_window_too_long",
        ),
        (
            json!({"phone": "0912000001", "status": "confirmed", "basis": "test", "basis_date": "2026-11-27", "depth": 4}),
            "trace_settings_invalid",
        ),
        (
            json!({"phone": "0912000099", "status": "confirmed", "basis": "test", "basis_date": "2026-11-27"}),
            "person_not_found",
        ),
        (
            json!({"pass": "VP1-not-a-pass", "status": "confirmed", "basis": "test", "basis_date": "2026-11-27"}),
            "pass_",
        ),
    ];
    for (body, code) in bad {
        let r = t.post("/api/v1/cases", Some(&d.health), body.clone()).await;
        assert!(r.code().starts_with(code) && !r.status.is_success(), "{body} → {}", r.text);
    }
    // By a scanned pass.
    let code =
        t.call(Method::POST, "/api/v1/passes", Some(&citizen), None).await.body["code"].as_str().unwrap().to_owned();
    let r = t
        .post(
            "/api/v1/cases",
            Some(&d.health),
            json!({"pass": code, "status": "suspected", "basis": "onset", "basis_date": "2026-11-27"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["full_name"], "Nguyễn Văn An");
    let case = r.body["id"].as_i64().unwrap();
    // Closing a suspicion that did not hold.
    let r = t
        .call(Method::PATCH, &format!("/api/v1/cases/{case}"), Some(&d.health), Some(json!({"status": "closed"})))
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("closed")), "{}", r.text);
    let r = t
        .call(Method::PATCH, &format!("/api/v1/cases/{case}"), Some(&d.health), Some(json!({"status": "confirmed"})))
        .await;
    assert_eq!(r.code(), "case_closed");
    assert!(t.get("/api/v1/cases", Some(&d.health)).await.body.as_array().unwrap().is_empty());
    assert_eq!(t.get("/api/v1/cases?all=true", Some(&d.health)).await.body.as_array().unwrap().len(), 1);
    let status = t.get("/api/v1/me/status", Some(&citizen)).await;
    assert_ne!(status.body["rule"], "suspected_case", "a closed case no longer marks the person");
}
