//! Flow tests: user stories through the real router, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, person};
use serde_json::json;

both_engines!(
    a_citizen_registers_and_signs_in,
    registration_refuses_bad_details_and_keeps_nothing,
    sessions_are_listed_and_revoked,
    web_sign_in_sets_a_safe_cookie_and_refuses_cross_site_posts,
    an_agency_is_set_up_by_its_office,
    roster_import_is_all_or_nothing,
    roles_and_scopes_are_enforced,
    an_officer_verifies_identity_and_the_read_is_audited,
    bad_requests_get_clear_errors,
    health_and_metrics,
    pages_work_in_both_languages,
    signup_page_registers_and_signs_in,
    the_agency_office_works_from_its_pages,
    the_province_admin_adds_an_agency_from_the_page,
);

async fn a_citizen_registers_and_signs_in(t: TestApp) {
    let (id, token) = t.citizen(1).await;
    let me = t.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["id"], id);
    assert_eq!(me.body["display_name"], "N. An");
    assert_eq!(me.body["phone"], "0912000001");
    assert_eq!(me.body["cccd"], "046085000001");
    assert_eq!(me.body["address"], "2 Lê Lợi, Phường Thuận Hóa, Thành phố Huế");
    assert_eq!(me.body["verified"], false);
    assert_eq!(me.body["roles"], json!([{"role": "citizen", "agency_id": null, "checkpoint_id": null}]));
    // A wrong password is refused with the same answer as an unknown number.
    let wrong = t.post("/api/v1/sessions", None, json!({"phone": "0912000001", "password": "not-the-password"})).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    let unknown =
        t.post("/api/v1/sessions", None, json!({"phone": "0987654321", "password": "not-the-password"})).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    // The number can be written in any usual way.
    t.sign_in("+84 912 000 001", "cau-truong-tien-6-vai").await;
}

async fn registration_refuses_bad_details_and_keeps_nothing(t: TestApp) {
    let cases = [
        ("phone", json!("0212345678"), "invalid_phone"),
        ("password", json!("password1"), "password_too_common"),
        ("password", json!("short"), "password_too_short"),
        ("full_name", json!("X"), "invalid_name"),
        ("birth_date", json!("2090-01-01"), "invalid_birth_date"),
        ("birth_date", json!("02/03/1985"), "invalid_birth_date"),
        ("sex", json!("other"), "invalid_sex"),
        ("cccd", json!("046185000001"), "cccd_sex_century"),
        ("cccd", json!("046086000001"), "cccd_birth_year"),
        ("cccd", json!("003085000001"), "cccd_province"),
        ("cccd", json!("04608500000"), "cccd_format"),
    ];
    for (field, value, code) in cases {
        let mut p = person(2);
        p[field] = value;
        let a = t.post("/api/v1/accounts", None, p).await;
        assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, code), "{field}: {}", a.text);
        assert_eq!(a.body["error"]["details"]["field"], field, "{}", a.text);
    }
    let mut p = person(2);
    p["address"]["unit_code"] = json!("474");
    let a = t.post("/api/v1/accounts", None, p).await;
    assert_eq!(a.code(), "unknown_admin_unit");
    let mut p = person(2);
    p["cccd"] = json!(null);
    assert_eq!(t.post("/api/v1/accounts", None, p.clone()).await.code(), "identity_number_required");
    p["cmnd"] = json!("191234567");
    assert_eq!(t.post("/api/v1/accounts", None, p).await.status, StatusCode::CREATED, "a CMND alone is accepted");
    // Nothing of the refused attempts was kept: the number of the CMND account is the only one taken.
    let again = t.post("/api/v1/accounts", None, person(2)).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "phone_taken"));
    let mut other_phone = person(3);
    other_phone["cccd"] = json!("046085000001");
    assert_eq!(t.post("/api/v1/accounts", None, other_phone).await.status, StatusCode::CREATED);
    let mut same_cccd = person(4);
    same_cccd["cccd"] = json!("046085000001");
    assert_eq!(t.post("/api/v1/accounts", None, same_cccd).await.code(), "cccd_taken");
}

async fn sessions_are_listed_and_revoked(t: TestApp) {
    let (_, first) = t.citizen(5).await;
    let second = t.sign_in("0912000005", "cau-truong-tien-6-vai").await;
    let list = t.get("/api/v1/sessions", Some(&first)).await;
    let sessions = list.body.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_i64().unwrap();
    let r = t.call(Method::DELETE, &format!("/api/v1/sessions/{other_id}"), Some(&first), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/api/v1/me", Some(&second)).await.status, StatusCode::UNAUTHORIZED);
    // Someone else's session cannot be revoked.
    let (_, stranger) = t.citizen(6).await;
    let mine = t.get("/api/v1/sessions", Some(&first)).await.body[0]["id"].as_i64().unwrap();
    let r = t.call(Method::DELETE, &format!("/api/v1/sessions/{mine}"), Some(&stranger), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "session_not_found"));
    // Signing out ends the session; expiry ends the rest.
    assert_eq!(
        t.call(Method::DELETE, "/api/v1/sessions/current", Some(&first), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get("/api/v1/me", Some(&first)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", Some(&stranger)).await.status, StatusCode::OK);
    t.clock.advance(91 * 24 * 3600);
    assert_eq!(t.get("/api/v1/me", Some(&stranger)).await.status, StatusCode::UNAUTHORIZED);
}

async fn web_sign_in_sets_a_safe_cookie_and_refuses_cross_site_posts(t: TestApp) {
    t.citizen(7).await;
    let a = t
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": "0912000007", "password": "cau-truong-tien-6-vai", "kind": "web"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.body.get("token").is_none(), "a web session's token stays in the cookie");
    let cookie = a.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = t.send(Request::get("/api/v1/me").header(header::COOKIE, &pair).body(Body::empty()).unwrap()).await;
    assert_eq!(me.status, StatusCode::OK);
    let forged = t
        .send(
            Request::delete("/api/v1/sessions/current")
                .header(header::COOKIE, &pair)
                .header(header::ORIGIN, "https://evil.example")
                .header(header::HOST, "127.0.0.1:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((forged.status, forged.code()), (StatusCode::FORBIDDEN, "cross_site_request"));
    let same = t
        .send(
            Request::delete("/api/v1/sessions/current")
                .header(header::COOKIE, &pair)
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(same.status, StatusCode::NO_CONTENT);
    assert!(same.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
}

async fn an_agency_is_set_up_by_its_office(t: TestApp) {
    let (_, admin) = t.province_admin().await;
    let (agency, _, office) = t.agency_with_admin(&admin, "SGTVT-TTH", 10).await;
    let unit =
        t.post(&format!("/api/v1/agencies/{agency}/units"), Some(&office), json!({"name": "Thanh tra Sở"})).await;
    assert_eq!(unit.status, StatusCode::CREATED, "{}", unit.text);
    let unit = unit.body["id"].as_i64().unwrap();
    let dup = t.post(&format!("/api/v1/agencies/{agency}/units"), Some(&office), json!({"name": "Thanh tra Sở"})).await;
    assert_eq!(dup.code(), "unit_name_taken");
    // Someone registered already is linked at once; someone not yet is linked when they register.
    t.citizen(11).await;
    for (n, name) in [(11, "Nguyễn Văn An"), (12, "Trần Thị Bình")] {
        let r = t
            .post(
                &format!("/api/v1/agencies/{agency}/roster"),
                Some(&office),
                json!({"unit_id": unit, "full_name": name, "position": "Thanh tra viên", "phone": format!("09120000{n}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let roster = t.get(&format!("/api/v1/agencies/{agency}/roster"), Some(&office)).await;
    let rows = roster.body.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().map(|r| r["has_account"].as_bool().unwrap()).collect::<Vec<_>>(), [true, false]);
    assert_eq!(rows[0]["phone"], "0912****011", "identifiers are masked");
    let mut later = person(12);
    later["full_name"] = json!("Trần Thị Bình");
    later["sex"] = json!("female");
    later["cccd"] = json!("046185000012");
    t.register(later).await;
    let roster = t.get(&format!("/api/v1/agencies/{agency}/roster"), Some(&office)).await;
    assert!(roster.body.as_array().unwrap().iter().all(|r| r["has_account"] == true));

    let cp = t
        .post(
            &format!("/api/v1/agencies/{agency}/checkpoints"),
            Some(&office),
            json!({"name": "Cổng chính", "mode": "entry", "default_stay_minutes": 480}),
        )
        .await;
    assert_eq!(cp.status, StatusCode::CREATED, "{}", cp.text);
    let cp = cp.body["id"].as_i64().unwrap();
    let list = t.get(&format!("/api/v1/agencies/{agency}/checkpoints"), Some(&office)).await;
    assert_eq!(list.body[0]["address_street"], "100 Hàm Nghi", "defaults to the agency's address");
    assert_eq!(list.body[0]["active"], true);
    let upd = t
        .call(
            Method::PUT,
            &format!("/api/v1/checkpoints/{cp}"),
            Some(&office),
            Some(json!({"name": "Cổng chính", "mode": "both", "default_stay_minutes": 60, "active": false})),
        )
        .await;
    assert_eq!(
        (upd.status, upd.body["mode"].as_str(), upd.body["active"].as_bool()),
        (StatusCode::OK, Some("both"), Some(false))
    );
    let bad = t
        .post(
            &format!("/api/v1/agencies/{agency}/checkpoints"),
            Some(&office),
            json!({"name": "Cổng", "mode": "sideways", "default_stay_minutes": 480}),
        )
        .await;
    assert_eq!(bad.code(), "invalid_checkpoint_mode");
    let bad = t
        .post(
            &format!("/api/v1/agencies/{agency}/checkpoints"),
            Some(&office),
            json!({"name": "Cổng", "mode": "entry", "default_stay_minutes": 2}),
        )
        .await;
    assert_eq!(bad.code(), "invalid_stay");

    let c = t.post(&format!("/api/v1/checkpoints/{cp}/checkers"), Some(&office), json!({"phone": "0912000012"})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let checkers = t.get(&format!("/api/v1/agencies/{agency}/checkers"), Some(&office)).await;
    assert_eq!(checkers.body, json!([{"user_id": c.body["id"], "full_name": "Trần Thị Bình", "checkpoint_id": cp}]));
    let nobody =
        t.post(&format!("/api/v1/checkpoints/{cp}/checkers"), Some(&office), json!({"phone": "0987000000"})).await;
    assert_eq!(nobody.code(), "person_not_found");
}

async fn roster_import_is_all_or_nothing(t: TestApp) {
    let (_, admin) = t.province_admin().await;
    let (agency, _, office) = t.agency_with_admin(&admin, "SYT", 20).await;
    for name in ["Văn phòng Sở", "Thanh tra Sở"] {
        t.post(&format!("/api/v1/agencies/{agency}/units"), Some(&office), json!({"name": name})).await;
    }
    let upload = |body: Vec<u8>, ct: &'static str| {
        Request::post(format!("/api/v1/agencies/{agency}/roster/import"))
            .header(header::AUTHORIZATION, format!("Bearer {office}"))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap()
    };
    let bad = "Họ và tên,Số điện thoại,CCCD,Đơn vị\n\
               Nguyễn Văn An,0912000031,,Văn phòng Sở\n\
               Lê B,0212345678,,Văn phòng Sở\n\
               Trần Thị Cúc,0912000031,,Văn phòng Sở\n\
               Phạm Văn Dũng,0912000034,,Phòng Không Có\n";
    let a = t.send(upload(bad.as_bytes().to_vec(), "text/csv")).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, "import_rows_invalid"), "{}", a.text);
    let rows = a.body["error"]["details"]["rows"].as_array().unwrap();
    let summary: Vec<(i64, &str)> =
        rows.iter().map(|r| (r["row"].as_i64().unwrap(), r["code"].as_str().unwrap())).collect();
    assert_eq!(summary, [(3, "invalid_phone"), (4, "roster_duplicate_phone"), (5, "unit_not_found")]);
    assert_eq!(rows[0]["column"], "Số điện thoại");
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{agency}/roster"), Some(&office)).await.body,
        json!([]),
        "nothing imported"
    );

    // An Excel workbook where the spreadsheet turned numbers into numbers.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Họ và tên", "Số điện thoại", "CCCD", "Chức vụ", "Đơn vị"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Nguyễn Văn An").unwrap();
    ws.write_number(1, 1, 912000031.0).unwrap();
    ws.write_number(1, 2, 46085000031.0).unwrap();
    ws.write_string(1, 3, "Chánh Văn phòng").unwrap();
    ws.write_string(1, 4, "van phong so").unwrap();
    ws.write_string(2, 0, "Trần Thị Cúc").unwrap();
    ws.write_string(2, 1, "0912 000 032").unwrap();
    ws.write_string(2, 4, "Thanh tra Sở").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let a = t.send(upload(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).await;
    assert_eq!((a.status, a.body["imported"].as_i64()), (StatusCode::OK, Some(2)), "{}", a.text);
    let roster = t.get(&format!("/api/v1/agencies/{agency}/roster"), Some(&office)).await;
    let got: Vec<(&str, &str, &str)> = roster
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["unit_name"].as_str().unwrap(), r["full_name"].as_str().unwrap(), r["phone"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [("Thanh tra Sở", "Trần Thị Cúc", "0912****032"), ("Văn phòng Sở", "Nguyễn Văn An", "0912****031")]
    );
    assert_eq!(roster.body[1]["cccd"], "*********031", "the CCCD's dropped zero came back");
    // The same file again: every row is a duplicate now.
    let a = t.send(upload(b"Ho ten,SDT,Don vi\nNguyen Van An,0912000031,Van phong So\n".to_vec(), "text/csv")).await;
    assert_eq!(a.body["error"]["details"]["rows"][0]["code"], "roster_duplicate_phone", "{}", a.text);
    let a = t.send(upload(b"Ten,Ghi chu\nAn,x\n".to_vec(), "text/csv")).await;
    assert_eq!(a.code(), "import_missing_columns");
    let a = t.send(upload(b"\xff\xfe\x00".to_vec(), "text/csv")).await;
    assert_eq!(a.code(), "import_unreadable");
    let a = t
        .send(upload(b"PK not really".to_vec(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        .await;
    assert_eq!(a.code(), "import_unreadable");
    let a = t.send(upload(b"a".to_vec(), "application/pdf")).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
}

async fn roles_and_scopes_are_enforced(t: TestApp) {
    let (_, admin) = t.province_admin().await;
    let (a1, _, office1) = t.agency_with_admin(&admin, "A1", 40).await;
    let (a2, _, office2) = t.agency_with_admin(&admin, "A2", 41).await;
    let (citizen_id, citizen) = t.citizen(42).await;
    // A citizen manages nothing.
    assert_eq!(t.get(&format!("/api/v1/agencies/{a1}"), Some(&citizen)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/agencies", Some(&citizen)).await.body, json!([]));
    let new_agency = json!({"name": "X", "code": "X", "address": {"scheme": "current", "unit_code": "19789"}});
    assert_eq!(t.post("/api/v1/agencies", Some(&citizen), new_agency.clone()).await.code(), "forbidden");
    assert_eq!(t.post("/api/v1/agencies", Some(&office1), new_agency).await.code(), "forbidden");
    assert_eq!(t.get("/api/v1/audit", Some(&office1)).await.status, StatusCode::FORBIDDEN);
    // An agency admin sees only their agency.
    let mine = t.get("/api/v1/agencies", Some(&office1)).await;
    assert_eq!(mine.body.as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect::<Vec<_>>(), [a1]);
    assert_eq!(t.get(&format!("/api/v1/agencies/{a2}/roster"), Some(&office1)).await.status, StatusCode::FORBIDDEN);
    let cp2 = t
        .post(
            &format!("/api/v1/agencies/{a2}/checkpoints"),
            Some(&office2),
            json!({"name": "Cổng", "mode": "entry", "default_stay_minutes": 60}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let r = t
        .call(
            Method::PUT,
            &format!("/api/v1/checkpoints/{cp2}"),
            Some(&office1),
            Some(json!({"name": "Mine", "mode": "entry", "default_stay_minutes": 60})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.post(&format!("/api/v1/checkpoints/{cp2}/checkers"), Some(&office1), json!({"phone": "0912000042"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Only a province admin makes admins; an agency admin cannot make themselves province admin.
    let g =
        t.post(&format!("/api/v1/people/{citizen_id}/grants"), Some(&office1), json!({"role": "province_admin"})).await;
    assert_eq!(g.status, StatusCode::FORBIDDEN);
    let g = t
        .post(
            &format!("/api/v1/people/{citizen_id}/grants"),
            Some(&office1),
            json!({"role": "agency_admin", "agency_id": a1}),
        )
        .await;
    assert_eq!(g.status, StatusCode::FORBIDDEN);
    let g =
        t.post(&format!("/api/v1/people/{citizen_id}/grants"), Some(&admin), json!({"role": "health_official"})).await;
    assert_eq!(g.status, StatusCode::NO_CONTENT);
    let me = t.get("/api/v1/me", Some(&citizen)).await;
    assert_eq!(me.body["roles"][1]["role"], "health_official");
    let g = t
        .call(
            Method::DELETE,
            &format!("/api/v1/people/{citizen_id}/grants"),
            Some(&admin),
            Some(json!({"role": "health_official"})),
        )
        .await;
    assert_eq!(g.status, StatusCode::NO_CONTENT);
    let g = t
        .call(
            Method::DELETE,
            &format!("/api/v1/people/{citizen_id}/grants"),
            Some(&admin),
            Some(json!({"role": "health_official"})),
        )
        .await;
    assert_eq!(g.code(), "grant_not_found");
    let g = t.post(&format!("/api/v1/people/{citizen_id}/grants"), Some(&admin), json!({"role": "checker"})).await;
    assert_eq!(g.code(), "grant_scope_required");
    // No session: 401.
    assert_eq!(t.get("/api/v1/agencies", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/agencies", Some("forged-token")).await.code(), "unauthenticated");
}

async fn an_officer_verifies_identity_and_the_read_is_audited(t: TestApp) {
    let (_, admin) = t.province_admin().await;
    let (_, officer_id, officer) = t.agency_with_admin(&admin, "UBND", 50).await;
    let (person_id, person) = t.citizen(51).await;
    // A citizen may not look people up.
    assert_eq!(t.get("/api/v1/people?q=046085000050", Some(&person)).await.status, StatusCode::FORBIDDEN);
    let found = t.get("/api/v1/people?q=046085000051", Some(&officer)).await;
    assert_eq!((found.status, found.body["id"].as_i64()), (StatusCode::OK, Some(person_id)), "{}", found.text);
    assert_eq!(found.body["roles"], json!([]));
    assert_eq!(t.get("/api/v1/people?q=0912000051", Some(&officer)).await.body["id"], person_id);
    assert_eq!(t.get("/api/v1/people?q=046085999999", Some(&officer)).await.code(), "person_not_found");
    assert_eq!(t.get("/api/v1/people?q=hello", Some(&officer)).await.code(), "cccd_format");
    let v = t.post(&format!("/api/v1/people/{person_id}/verification"), Some(&officer), json!({})).await;
    assert_eq!(v.status, StatusCode::NO_CONTENT, "{}", v.text);
    let me = t.get("/api/v1/me", Some(&person)).await;
    assert_eq!(
        (me.body["verified"].as_bool(), me.body["verification_method"].as_str()),
        (Some(true), Some("in_person"))
    );

    let log = t.get(&format!("/api/v1/audit?subject={person_id}"), Some(&admin)).await;
    let actions: Vec<&str> = log.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["identity_verified", "person_viewed", "person_viewed", "user_registered"], "{}", log.text);
    let viewed = &log.body[1];
    assert_eq!((viewed["actor"].as_i64(), viewed["details"]["found_by"].as_str()), (Some(officer_id), Some("phone")));
    let report = t.app.verify_audit_chain().await.unwrap();
    assert!(report.intact && report.checked > 10, "{report:?}");
    // The look at the log was itself logged.
    let log = t.get("/api/v1/audit?action=audit_viewed&limit=1", Some(&admin)).await;
    assert_eq!(log.body.as_array().unwrap().len(), 1);
}

async fn bad_requests_get_clear_errors(t: TestApp) {
    let send = |body: &'static str, ct: &'static str| {
        Request::post("/api/v1/accounts").header(header::CONTENT_TYPE, ct).body(Body::from(body)).unwrap()
    };
    let a = t.send(send("{not json", "application/json")).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "malformed_json"));
    let a = t.send(send("phone=1", "application/x-www-form-urlencoded")).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let mut p = person(60);
    p["is_admin"] = json!(true);
    let a = t.post("/api/v1/accounts", None, p).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"));
    assert!(a.body["error"]["message"].as_str().unwrap().contains("is_admin"), "{}", a.text);
    let big = format!("{{\"phone\": \"{}\"}}", "9".repeat(100_000));
    let a = t
        .send(
            Request::post("/api/v1/accounts")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    let a = t.get("/api/v1/nothing-here", None).await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "route_not_found"));
    let (_, token) = t.citizen(61).await;
    assert_eq!(t.get("/api/v1/agencies/abc", Some(&token)).await.code(), "not_found");
    assert_eq!(t.get("/api/v1/admin-units?scheme=old", None).await.code(), "unknown_address_scheme");
    assert_eq!(t.get("/api/v1/admin-units?limit=3", None).await.code(), "invalid_query");
    let wards = t.get("/api/v1/admin-units?parent=46", None).await;
    assert!(wards.body.as_array().unwrap().iter().any(|u| u["code"] == "19789" && u["name"] == "Phường Thuận Hóa"));
    let legacy = t.get("/api/v1/admin-units?scheme=legacy", None).await;
    assert_eq!(legacy.body.as_array().unwrap().len(), 63);
}

async fn health_and_metrics(t: TestApp) {
    let h = t.get("/healthz", None).await;
    assert_eq!(h.status, StatusCode::OK);
    t.get("/api/v1/me", None).await;
    let m = t.get("/metrics", None).await;
    assert_eq!(m.status, StatusCode::OK);
    for series in [
        "vaora_http_requests_total",
        "vaora_http_request_duration_seconds",
        "vaora_http_errors_total",
        "vaora_db_pool_connections",
    ] {
        assert!(m.text.contains(series), "{series} missing in\n{}", m.text);
    }
    assert!(m.text.contains("route=\"/api/v1/me\""), "routes are labelled by pattern");
    let doc = t.get("/api/openapi.json", None).await;
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
}

async fn pages_work_in_both_languages(t: TestApp) {
    let home = t.get("/", None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("<html lang=\"vi\">") && home.text.contains("Đăng ký"), "{}", home.text);
    let en = t.send(Request::get("/").header(header::COOKIE, "vaora_lang=en").body(Body::empty()).unwrap()).await;
    assert!(en.text.contains("<html lang=\"en\">") && en.text.contains("Sign up"));
    let css = t.get(&format!("{}/app.css", vaora_web::assets::PREFIX), None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    let font = t.get(&format!("{}/fonts/DejaVuSans.ttf", vaora_web::assets::PREFIX), None).await;
    assert_eq!((font.status, font.headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "font/ttf"));
    let missing = t.get("/no-such-page", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("Không tìm thấy trang"));
    // A page that needs a session sends the person to sign in and back.
    let me = t.get("/me", None).await;
    assert_eq!(me.status, StatusCode::SEE_OTHER);
    assert_eq!(me.headers[header::LOCATION], "/signin?next=/me");
    let csp = home.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "nothing is loaded from elsewhere");
}

async fn signup_page_registers_and_signs_in(t: TestApp) {
    let form = "phone=0912000070&password=cau-truong-tien-6-vai&full_name=Ho%C3%A0ng+Th%E1%BB%8B+Mai&birth_date=2001-05-04&sex=female&cccd=046301000070&cmnd=&province=46&ward=19789&street=";
    let post = |body: &'static str| {
        Request::post("/signup")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .unwrap()
    };
    let a = t.send(post(form)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
    let pair = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let me = t.send(Request::get("/me").header(header::COOKIE, &pair).body(Body::empty()).unwrap()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.text.contains("Hoàng Thị Mai") && me.text.contains("046301000070"), "{}", me.text);
    // The same form again: the error is shown in Vietnamese next to the kept values, password cleared.
    let again = t.send(post(form)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text.contains("Số điện thoại này đã có tài khoản."), "{}", again.text);
    assert!(again.text.contains("value=\"Hoàng Thị Mai\"") && !again.text.contains("cau-truong-tien-6-vai"));
    assert!(again.text.contains("aria-invalid=\"true\""));
}

async fn the_agency_office_works_from_its_pages(t: TestApp) {
    let (_, admin) = t.province_admin().await;
    let (agency, _, _) = t.agency_with_admin(&admin, "SGTVT", 80).await;
    let a = t
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": "0912000080", "password": "cau-truong-tien-6-vai", "kind": "web"}),
        )
        .await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let get = |path: String| Request::get(path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let form = |path: String, body: &str| {
        Request::post(path)
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    // An admin of one agency goes straight to it.
    let list = t.send(get("/agencies".into())).await;
    assert_eq!(list.headers[header::LOCATION], format!("/agencies/{agency}"));
    let r = t.send(form(format!("/agencies/{agency}/units"), "name=Thanh+tra+S%E1%BB%9F")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = t
        .send(form(
            format!("/agencies/{agency}/checkpoints"),
            "name=C%E1%BB%95ng+ch%C3%ADnh&address_street=&mode=entry&default_stay_minutes=480&active=on",
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = t
        .send(form(format!("/agencies/{agency}/checkpoints"), "name=C%E1%BB%95ng&mode=entry&default_stay_minutes=abc"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Thời gian lưu lại mặc định từ 5 đến 1440 phút."), "{}", r.text);
    let page = t.send(get(format!("/agencies/{agency}"))).await;
    assert!(
        page.text.contains("Thanh tra Sở") && page.text.contains("Cổng chính") && page.text.contains("Lối vào"),
        "{}",
        page.text
    );
    let cp =
        t.get(&format!("/api/v1/agencies/{agency}/checkpoints"), Some(&admin)).await.body[0]["id"].as_i64().unwrap();
    let edit = t.send(get(format!("/checkpoints/{cp}/edit"))).await;
    assert!(edit.text.contains("value=\"480\""), "{}", edit.text);
    let r = t
        .send(form(
            format!("/checkpoints/{cp}/edit"),
            "name=C%E1%BB%95ng+ch%C3%ADnh&address_street=100+H%C3%A0m+Nghi&mode=both&default_stay_minutes=60",
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = t.get(&format!("/api/v1/agencies/{agency}/checkpoints"), Some(&admin)).await;
    assert_eq!(
        (after.body[0]["mode"].as_str(), after.body[0]["active"].as_bool()),
        (Some("both"), Some(false)),
        "an unticked box pauses it"
    );

    // The roster import from the page shows every bad row, translated; a good file imports.
    let unit = t.get(&format!("/api/v1/agencies/{agency}/units"), Some(&admin)).await.body[0]["id"].as_i64().unwrap();
    let upload = |csv: &str| {
        let boundary = "XyZ";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"unit_id\"\r\n\r\n{unit}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ds.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        Request::post(format!("/agencies/{agency}/roster/import"))
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap()
    };
    let bad = t.send(upload("Họ và tên,Số điện thoại\nNguyễn Văn An,0912000081\nLê Bình,12\n")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.text.contains("Số điện thoại di động không hợp lệ") && bad.text.contains("<td>3</td>"), "{}", bad.text);
    assert!(bad.text.contains("0 người"), "nothing was imported");
    let good = t.send(upload("Họ và tên,Số điện thoại\nNguyễn Văn An,0912000081\nTrần Văn Bảo,0912000082\n")).await;
    assert!(good.text.contains("Đã nhập 2 người.") && good.text.contains("0912****082"), "{}", good.text);
    // A checker is assigned from the page by phone number.
    t.citizen(84).await;
    let r = t.send(form(format!("/agencies/{agency}/checkers"), &format!("checkpoint_id={cp}&phone=0912000084"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = t.send(get(format!("/agencies/{agency}"))).await;
    assert!(page.text.contains("Nguyễn Văn An</li>") || page.text.contains("Nguyễn Văn An<br>"), "{}", page.text);
    let r = t.send(form(format!("/agencies/{agency}/checkers"), &format!("checkpoint_id={cp}&phone=0987000001"))).await;
    assert!(r.text.contains("Không tìm thấy người có số điện thoại"), "{}", r.text);
    // Someone else's agency is not shown.
    let (other, _, _) = t.agency_with_admin(&admin, "KHAC", 83).await;
    let page = t.send(get(format!("/agencies/{other}"))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text.contains("Bạn không có quyền"));
}

async fn the_province_admin_adds_an_agency_from_the_page(t: TestApp) {
    t.province_admin().await;
    let a = t
        .post(
            "/api/v1/sessions",
            None,
            json!({"phone": "0912000900", "password": "cau-truong-tien-6-vai", "kind": "web"}),
        )
        .await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let form = |body: &'static str| {
        Request::post("/agencies")
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let list = t.send(Request::get("/agencies").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(list.text.contains("Thêm cơ quan") && list.text.contains("Phường Thuận Hóa"), "{}", list.text);
    let bad = t.send(form("name=S%E1%BB%9F+Y+t%E1%BA%BF&code=S+Y+T&ward=19789&street=")).await;
    assert!(bad.text.contains("Mã cơ quan gồm"), "{}", bad.text);
    let ok = t.send(form("name=S%E1%BB%9F+Y+t%E1%BA%BF&code=syt-hue&ward=19789&street=28+L%C3%AA+L%E1%BB%A3i")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let id = ok.headers[header::LOCATION].to_str().unwrap().trim_start_matches("/agencies/").parse::<i64>().unwrap();
    let page = t
        .send(Request::get(format!("/agencies/{id}")).header(header::COOKIE, &cookie).body(Body::empty()).unwrap())
        .await;
    assert!(
        page.text.contains("Sở Y tế") && page.text.contains("28 Lê Lợi, Phường Thuận Hóa, Thành phố Huế"),
        "{}",
        page.text
    );
    // Without a session the form is not even reached.
    let anon = t
        .send(
            Request::post("/agencies")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("name=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(anon.headers[header::LOCATION], "/signin?next=/agencies");
}
