//! Dependants (khai hộ): a guardian adds a child and an elderly parent, declares for them, shows
//! each one's pass, and checks the family in with one scan of a family pass. On SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, site};
use serde_json::{Value, json};

both_engines!(
    a_dependants_pass_scanned_records_their_visit_and_status,
    a_family_pass_checks_in_each_member_it_names,
    only_the_guardian_reaches_a_dependant,
    the_family_screens_work_without_javascript,
);

fn child() -> Value {
    json!({"full_name": "Nguyễn Thị Mai", "birth_date": "2016-05-04", "sex": "female", "cccd": "046316000261",
           "relation": "child", "address_unit": "19789", "address_street": "2 Lê Lợi"})
}

fn grandfather() -> Value {
    json!({"full_name": "Trần Văn Bảy", "birth_date": "1948-01-02", "sex": "male", "cccd": "046048000262",
           "relation": "parent", "address_unit": "19789", "address_street": "2 Lê Lợi"})
}

async fn add(t: &TestApp, guardian: &str, body: Value) -> i64 {
    let r = t.post("/api/v1/dependants", Some(guardian), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

async fn pass(t: &TestApp, token: &str, query: &str) -> String {
    let r = t.call(Method::POST, &format!("/api/v1/passes{query}"), Some(token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["code"].as_str().unwrap().to_owned()
}

async fn scan(t: &TestApp, checker: &str, id: &str, gate: i64, code: &str) -> Value {
    let r = t.post("/api/v1/scans", Some(checker), json!({"client_id": id, "checkpoint_id": gate, "code": code})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn colour_rule(v: &Value) -> (&str, &str) {
    (v["colour"].as_str().unwrap(), v["rule"].as_str().unwrap_or(""))
}

async fn a_dependants_pass_scanned_records_their_visit_and_status(t: TestApp) {
    let s = site(&t).await;
    let (guardian_id, guardian) = t.citizen(261).await;

    let r = t.post("/api/v1/dependants", Some(&guardian), child()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((r.body["slot"].as_i64(), r.body["display_name"].as_str()), (Some(1), Some("N. Mai")));
    assert_eq!(colour_rule(&r.body["status"]), ("amber", "no_declaration"), "nobody has declared for her yet");
    let mai = r.body["id"].as_i64().unwrap();
    let bay = add(&t, &guardian, grandfather()).await;
    let list = t.get("/api/v1/dependants", Some(&guardian)).await;
    let names: Vec<&str> = list.body.as_array().unwrap().iter().map(|d| d["full_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Nguyễn Thị Mai", "Trần Văn Bảy"]);
    assert_eq!(list.body[1]["slot"], 2);

    // Declaring for them (khai hộ): the child has a fever, the grandfather is well.
    let d = t
        .post(&format!("/api/v1/dependants/{mai}/declarations"), Some(&guardian), json!({"symptoms": ["fever"]}))
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    assert_eq!(d.body["declared_by"], guardian_id, "filed by the guardian on her behalf");
    let d = t.post(&format!("/api/v1/dependants/{bay}/declarations"), Some(&guardian), json!({})).await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    // The guardian's own status is untouched by what they filed for others.
    assert_eq!(colour_rule(&t.get("/api/v1/me/status", Some(&guardian)).await.body), ("amber", "no_declaration"));

    // Each dependant's pass, shown from the guardian's phone: their own status and their own visit.
    let red = scan(&t, &s.checker, "mai-1", s.gate, &pass(&t, &guardian, &format!("?for={mai}")).await).await;
    assert_eq!(colour_rule(&red), ("red", "fever"));
    assert_eq!(red["display_name"], "N. Mai");
    assert!(red["visit_id"].is_i64(), "{red}");
    let green = scan(&t, &s.checker, "bay-1", s.gate, &pass(&t, &guardian, &format!("?for={bay}")).await).await;
    assert_eq!(colour_rule(&green), ("green", "declared_well"));
    assert_eq!(green["display_name"], "T. Bảy");
    assert_ne!(green["visit_id"], red["visit_id"]);
    let scans = t.get(&format!("/api/v1/agencies/{}/scans", s.agency), Some(&s.office)).await;
    let names: Vec<&str> = scans.body.as_array().unwrap().iter().filter_map(|x| x["display_name"].as_str()).collect();
    assert!(names.contains(&"N. Mai") && names.contains(&"T. Bảy"), "{}", scans.text);
    // The guardian's own visits do not include theirs.
    assert_eq!(t.get("/api/v1/visits", Some(&guardian)).await.body.as_array().unwrap().len(), 0);

    // The guardian reads back what they declared for the child, and that read is audited.
    let back = t.get(&format!("/api/v1/dependants/{mai}/declarations"), Some(&guardian)).await;
    assert_eq!(back.body[0]["answers"]["symptoms"][0], "fever", "{}", back.text);
    let audit = t.get("/api/v1/audit?action=dependant_declarations_viewed", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().unwrap().len(), 1, "{}", audit.text);
    assert_eq!(audit.body[0]["subject"], mai);

    // A printed card for the grandfather, for when he goes out alone: it scans as him.
    let card = t.call(Method::POST, &format!("/api/v1/dependants/{bay}/card.pdf"), Some(&guardian), None).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.text);
    assert!(card.raw.starts_with(b"%PDF"));

    // When the guardian's session ends, the passes it showed for them are refused.
    let held = pass(&t, &guardian, &format!("?for={bay}")).await;
    assert_eq!(
        t.call(Method::DELETE, "/api/v1/sessions/current", Some(&guardian), None).await.status,
        StatusCode::NO_CONTENT
    );
    let refused = scan(&t, &s.checker, "bay-2", s.gate, &held).await;
    assert_eq!((refused["colour"].as_str(), refused["reason"].as_str()), (Some("red"), Some("pass_session_ended")));
    assert!(refused["visit_id"].is_null());
}

async fn a_family_pass_checks_in_each_member_it_names(t: TestApp) {
    let s = site(&t).await;
    let (me, guardian) = t.citizen(262).await;
    t.declare_well(&guardian).await;
    let mai = add(&t, &guardian, child()).await;
    let bay = add(&t, &guardian, grandfather()).await;
    t.post(&format!("/api/v1/dependants/{bay}/declarations"), Some(&guardian), json!({})).await;

    // The guardian and the grandfather: one scan, two visits, both green.
    let code = pass(&t, &guardian, &format!("?members={me},{bay}")).await;
    assert!(code.starts_with("VF1"), "{code}");
    let both = scan(&t, &s.checker, "fam-1", s.gate, &code).await;
    assert_eq!(colour_rule(&both), ("green", "declared_well"), "{both}");
    assert_eq!(both["display_name"], "N. An", "under the holder's name");
    let members = both["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{both}");
    assert_eq!((members[0]["slot"].as_i64(), members[0]["display_name"].as_str()), (Some(0), Some("N. An")));
    assert_eq!((members[1]["slot"].as_i64(), members[1]["display_name"].as_str()), (Some(2), Some("T. Bảy")));
    assert!(members.iter().all(|m| m["colour"] == "green" && m["visit_id"].is_i64()));
    assert_ne!(members[0]["visit_id"], members[1]["visit_id"]);
    assert_eq!(t.get("/api/v1/visits", Some(&guardian)).await.body.as_array().unwrap().len(), 1, "the holder's own");

    // The same scan sent again records nothing new; the same code scanned again is refused.
    let again = scan(&t, &s.checker, "fam-1", s.gate, &code).await;
    assert_eq!(again["resubmitted"], true);
    assert_eq!(again["members"], both["members"]);
    let reused = scan(&t, &s.checker, "fam-2", s.gate, &code).await;
    assert!(reused["members"].as_array().unwrap().iter().all(|m| m["reason"] == "pass_already_used"), "{reused}");

    // With the child, who has not been declared for: the family's answer is the worst of theirs.
    let three =
        scan(&t, &s.checker, "fam-3", s.gate, &pass(&t, &guardian, &format!("?members={me},{mai},{bay}")).await).await;
    assert_eq!(colour_rule(&three), ("amber", "no_declaration"), "{three}");
    let colours: Vec<&str> =
        three["members"].as_array().unwrap().iter().map(|m| m["colour"].as_str().unwrap()).collect();
    assert_eq!(colours, ["green", "amber", "green"]);

    // Queued offline and sent in a batch, a family pass checks in the same way.
    let code = pass(&t, &guardian, &format!("?members={mai}")).await;
    let batch = t
        .post(
            "/api/v1/scans/batch",
            Some(&s.checker),
            json!({"scans": [{"client_id": "fam-4", "checkpoint_id": s.gate, "code": code}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
    assert_eq!(batch.body[0]["answer"]["members"][0]["display_name"], "N. Mai", "{}", batch.text);

    // Asking for a family pass with someone who is not in the family, or with no one, is refused.
    let (stranger, _) = t.citizen(263).await;
    let r = t.call(Method::POST, &format!("/api/v1/passes?members={me},{stranger}"), Some(&guardian), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "dependant_not_found"));
    let r = t.call(Method::POST, "/api/v1/passes?members=", Some(&guardian), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "family_pass_empty"));
    let r = t.call(Method::POST, "/api/v1/passes?members=1,x", Some(&guardian), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_members"));
    let r = t.call(Method::POST, &format!("/api/v1/passes?members={me}&for={mai}"), Some(&guardian), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_members"));
    // A day's batch of family passes for offline display: one per minute.
    let r =
        t.call(Method::POST, &format!("/api/v1/passes/batch?hours=1&members={me},{mai}"), Some(&guardian), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body.as_array().unwrap().len(), 60);
    assert!(r.body[0]["code"].as_str().unwrap().starts_with("VF1"));
}

async fn only_the_guardian_reaches_a_dependant(t: TestApp) {
    let s = site(&t).await;
    let (_, guardian) = t.citizen(264).await;
    let (_, other) = t.citizen(265).await;
    let mai = add(&t, &guardian, child()).await;

    // Someone else gets no pass, no declaration, no card and no status for her: "not found".
    for (method, path) in [
        (Method::POST, format!("/api/v1/passes?for={mai}")),
        (Method::POST, format!("/api/v1/passes?members={mai}")),
        (Method::GET, format!("/api/v1/dependants/{mai}")),
        (Method::GET, format!("/api/v1/dependants/{mai}/declarations")),
        (Method::POST, format!("/api/v1/dependants/{mai}/card.pdf")),
    ] {
        let r = t.call(method, &path, Some(&other), None).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "dependant_not_found"), "{path}");
    }
    let r = t.post(&format!("/api/v1/dependants/{mai}/declarations"), Some(&other), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/api/v1/dependants", Some(&other)).await.body, json!([]));
    // A checker cannot take someone's pass and show it for their own "dependant" either.
    let r = t.call(Method::POST, "/api/v1/passes?for=1", Some(&s.checker), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Her ID number is hers: no second guardian, and no one's own number as a dependant's.
    let r = t.post("/api/v1/dependants", Some(&other), child()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "cccd_taken"));
    let mut own = child();
    own["cccd"] = json!("046085000264");
    own["full_name"] = json!("Nguyễn Văn An");
    own["birth_date"] = json!("1985-03-02");
    own["sex"] = json!("male");
    let r = t.post("/api/v1/dependants", Some(&guardian), own).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "cccd_taken"));
    let mut odd = child();
    odd["relation"] = json!("neighbour");
    odd["cccd"] = json!("046316000999");
    let r = t.post("/api/v1/dependants", Some(&guardian), odd).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_relation"));
    let mut bad = child();
    bad["cccd"] = json!("046316");
    let r = t.post("/api/v1/dependants", Some(&guardian), bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // At most fifteen: the sixteenth is refused.
    for n in 2..=15u32 {
        let mut kid = child();
        kid["cccd"] = json!(format!("046316{:06}", 1000 + n));
        add(&t, &guardian, kid).await;
    }
    let mut kid = child();
    kid["cccd"] = json!("046316009999");
    let r = t.post("/api/v1/dependants", Some(&guardian), kid).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "dependants_full"));
    // All sixteen members fit in one family pass.
    let all = t.get("/api/v1/dependants", Some(&guardian)).await;
    let ids: Vec<String> = all.body.as_array().unwrap().iter().map(|d| d["id"].to_string()).collect();
    assert_eq!(ids.len(), 15);
    let code = pass(&t, &guardian, &format!("?members={}", ids.join(","))).await;
    let fam = scan(&t, &s.checker, "all-1", s.gate, &code).await;
    assert_eq!(fam["members"].as_array().unwrap().len(), 15, "{fam}");
}

async fn the_family_screens_work_without_javascript(t: TestApp) {
    let s = site(&t).await;
    let (me, _) = t.citizen(266).await;
    let cookie = common::web_cookie(&t, "0912000266").await;
    let get = |path: &str| Request::get(path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let post = |path: &str, body: &str| {
        Request::post(path)
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let empty = t.send(get("/family")).await;
    assert!(empty.text.contains("id=\"family-empty\""), "{}", empty.text);
    // The add form starts from the guardian's own address.
    let form = t.send(get("/family/add")).await;
    assert!(
        form.text.contains("value=\"19789\" selected") && form.text.contains("value=\"2 Lê Lợi\""),
        "{}",
        form.text
    );
    let bad = t
        .send(post("/family/add", "full_name=Nguy%E1%BB%85n+Th%E1%BB%8B+Mai&relation=child&cccd=046316000266&birth_date=2016-05-04&sex=male&province=46&ward=19789&street="))
        .await;
    assert!(
        bad.text.contains("role=\"alert\"") && bad.text.contains("value=\"Nguyễn Thị Mai\""),
        "the CCCD says female: {}",
        bad.text
    );
    let added = t
        .send(post("/family/add", "full_name=Nguy%E1%BB%85n+Th%E1%BB%8B+Mai&relation=child&cccd=046316000266&birth_date=2016-05-04&sex=female&province=46&ward=19789&street="))
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let list = t.send(get("/family?added=1")).await;
    assert!(
        list.text.contains("Nguyễn Thị Mai") && list.text.contains("Con") && list.text.contains("Chưa khai báo"),
        "{}",
        list.text
    );
    let mai = t.get("/api/v1/dependants", None).await;
    assert_eq!(mai.status, StatusCode::UNAUTHORIZED);
    let id = list.text.split("data-id=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // Declaring for her through the form marks it as on her behalf and sends the guardian back.
    let declare = t.send(get(&format!("/declare?for={id}"))).await;
    assert!(
        declare.text.contains("id=\"on-behalf\"") && declare.text.contains(&format!("action=\"/declare?for={id}\""))
    );
    let sent = t.send(post(&format!("/declare?for={id}"), "symptom=cough&pledge=1")).await;
    assert_eq!((sent.status, sent.headers[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/family"));
    // Her pass screen asks the API for her pass; the family pass screen lists who it checks in.
    let own = t.send(get(&format!("/pass?for={id}"))).await;
    assert!(
        own.text.contains(&format!("data-query=\"for={id}\"")) && own.text.contains("Nguyễn Thị Mai"),
        "{}",
        own.text
    );
    let family = t.send(get(&format!("/pass?member={me}&member={id}"))).await;
    assert!(family.text.contains(&format!("data-query=\"members={me},{id}\"")), "{}", family.text);
    assert_eq!(family.text.matches("<li data-colour=").count(), 2, "{}", family.text);
    // Someone else's id is refused.
    let other = t.send(get("/pass?for=1")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // Her card prints.
    let card = t.send(post(&format!("/family/{id}/card"), "")).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(card.raw.starts_with(b"%PDF"));

    // At the checker's screen without JavaScript, a family pass shows each member's line.
    let token = t.sign_in("0912000266", "cau-truong-tien-6-vai").await;
    let code = pass(&t, &token, &format!("?members={me},{id}")).await;
    let checker_cookie = common::web_cookie(&t, "0912000101").await;
    let screen = t
        .send(
            Request::post(format!("/check/{}", s.gate))
                .header(header::COOKIE, &checker_cookie)
                .header("sec-fetch-site", "same-origin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("client_id=fam-web-1&code={code}")))
                .unwrap(),
        )
        .await;
    assert_eq!(screen.text.matches("class=\"member ").count(), 2, "{}", screen.text);
    assert!(screen.text.contains("N. Mai · Đỏ") || screen.text.contains("N. Mai · Vàng"), "{}", screen.text);
}
