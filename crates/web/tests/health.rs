//! Health declarations and status: what a checker sees for a declaration with fever, a clean one,
//! an expired one and none; the rule table changed by the province and its audit trail; the
//! office's coverage; the form without JavaScript; retention. On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, site};
use serde_json::{Value, json};

both_engines!(
    a_declaration_decides_the_colour_at_the_checker,
    the_province_changes_the_rules_and_the_change_is_audited,
    the_office_sees_who_declared_never_the_answers,
    the_declaration_form_works_without_javascript,
    declarations_are_deleted_after_the_retention_period,
    a_walk_in_is_registered_checked_in_and_given_a_card,
);

async fn scan(t: &TestApp, checker: &str, id: &str, checkpoint: i64, holder: &str) -> Value {
    let code =
        t.call(Method::POST, "/api/v1/passes", Some(holder), None).await.body["code"].as_str().unwrap().to_owned();
    let r = t
        .post("/api/v1/scans", Some(checker), json!({"client_id": id, "checkpoint_id": checkpoint, "code": code}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn status_of(answer: &Value) -> (&str, &str) {
    (answer["colour"].as_str().unwrap(), answer["rule"].as_str().unwrap())
}

async fn a_declaration_decides_the_colour_at_the_checker(t: TestApp) {
    let s = site(&t).await;
    let (_, well) = t.citizen(201).await;
    let (_, feverish) = t.citizen(202).await;
    let (_, silent) = t.citizen(203).await;

    // Nobody has declared: amber, "no declaration".
    assert_eq!(status_of(&scan(&t, &s.checker, "n-1", s.gate, &well).await), ("amber", "no_declaration"));

    let clean = t
        .post(
            "/api/v1/declarations",
            Some(&well),
            json!({"doses": [{"date": "2021-09-01", "vaccine": "AstraZeneca"}, {"date": "2021-12-01", "vaccine": "Pfizer-BioNTech"}],
                   "tests": [{"kind": "rapid_antigen", "date": "2026-11-26", "result": "negative"}]}),
        )
        .await;
    assert_eq!(clean.status, StatusCode::CREATED, "{}", clean.text);
    assert_eq!(clean.body["valid_until"], "2026-11-28T02:00:00.000Z", "valid for 24 hours");
    let fever = t.post("/api/v1/declarations", Some(&feverish), json!({"symptoms": ["fever", "cough"]})).await;
    assert_eq!(fever.status, StatusCode::CREATED, "{}", fever.text);

    let green = scan(&t, &s.checker, "w-1", s.gate, &well).await;
    assert_eq!(status_of(&green), ("green", "declared_well"));
    assert_eq!(green["reason"], Value::Null);
    assert_eq!(green["declared_until"], "2026-11-28T02:00:00.000Z");
    let red = scan(&t, &s.checker, "f-1", s.gate, &feverish).await;
    assert_eq!(status_of(&red), ("red", "fever"));
    assert_eq!(red["reason"], "fever");
    assert!(red["visit_id"].is_i64(), "someone turned away at the gate was there: a visit for tracing");
    // The checker learns the deciding rule, never the answers.
    let text = red.to_string();
    assert!(!text.contains("cough") && !text.contains("symptoms"), "{text}");
    assert_eq!(status_of(&scan(&t, &s.checker, "s-1", s.gate, &silent).await), ("amber", "no_declaration"));

    // The person's own screen and API show the same status.
    let mine = t.get("/api/v1/me/status", Some(&feverish)).await;
    assert_eq!((mine.body["colour"].as_str(), mine.body["rule"].as_str()), (Some("red"), Some("fever")));
    let own = t.get("/api/v1/declarations", Some(&well)).await;
    assert_eq!(own.body[0]["answers"]["doses"][1]["vaccine"], "Pfizer-BioNTech", "{}", own.text);

    // A day and a second later the clean declaration has expired: amber again.
    t.clock.advance(24 * 3600 + 1);
    let expired = scan(&t, &s.checker, "w-2", s.gate, &well).await;
    assert_eq!(status_of(&expired), ("amber", "no_declaration"));
    assert_eq!(expired["declared_until"], Value::Null);
    assert_eq!(t.get("/api/v1/declarations", Some(&well)).await.body[0]["valid"], false);

    // The answers are sealed at rest: the stored bytes hold no answer in clear.
    let me = t.get("/api/v1/me", Some(&feverish)).await.body["id"].as_i64().unwrap();
    let stored = t.db.store.latest_declaration(vaora_domain::UserId(me), t.app.now()).await.unwrap().unwrap();
    let raw = String::from_utf8_lossy(&stored.answers_sealed);
    assert!(!raw.contains("fever") && !raw.contains("symptoms"), "sealed: {raw}");

    // Bad answers are refused with their own codes.
    let bad = |body: Value| async { t.post("/api/v1/declarations", Some(&silent), body).await };
    assert_eq!(bad(json!({"symptoms": ["sneezing"]})).await.code(), "invalid_request");
    assert_eq!(bad(json!({"temperature": 39})).await.code(), "invalid_request");
    assert_eq!(bad(json!({"travel": ["99999"]})).await.code(), "declaration_unknown_place");
    assert_eq!(
        bad(json!({"tests": [{"kind": "pcr", "date": "2026-12-25", "result": "negative"}]})).await.code(),
        "declaration_future_date"
    );
    assert_eq!(bad(json!({"symptoms": ["other"]})).await.code(), "declaration_other_symptom");
}

async fn the_province_changes_the_rules_and_the_change_is_audited(t: TestApp) {
    let s = site(&t).await;
    let (_, coughing) = t.citizen(211).await;
    assert_eq!(
        t.post("/api/v1/declarations", Some(&coughing), json!({"symptoms": ["cough"]})).await.status,
        StatusCode::CREATED
    );
    assert_eq!(status_of(&scan(&t, &s.checker, "c-1", s.gate, &coughing).await), ("amber", "symptoms"));

    // Everyone may read the table; it starts as vaora's own.
    let rules = t.get("/api/v1/status-rules", Some(&coughing)).await;
    assert_eq!(rules.body["version"], 0, "{}", rules.text);
    assert_eq!(rules.body["rules"].as_array().unwrap().last().unwrap()["when"], "always");
    assert!(rules.body["facts"].as_array().unwrap().contains(&json!("symptom.cough")));

    // The province makes a cough red.
    let text = format!("cough: symptom.cough => red\n{}", rules.body["text"].as_str().unwrap());
    let change = json!({"text": text, "note": "Biến chủng mới lây qua đường hô hấp", "expected_version": 0});
    assert_eq!(
        t.call(Method::PUT, "/api/v1/status-rules", Some(&s.office), Some(change.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    let changed = t.call(Method::PUT, "/api/v1/status-rules", Some(&s.admin), Some(change.clone())).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["version"], 1);
    assert_eq!(status_of(&scan(&t, &s.checker, "c-2", s.gate, &coughing).await), ("red", "cough"));

    // A change written against an old version, or a table that cannot work, is refused.
    let stale = t.call(Method::PUT, "/api/v1/status-rules", Some(&s.admin), Some(change)).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::CONFLICT, "status_rules_changed_meanwhile"));
    let broken = json!({"rules": [{"name": "hot", "when": "symptom.temperature", "colour": "red"}, {"name": "rest", "when": "always", "colour": "green"}],
                        "note": "thử", "expected_version": 1});
    let refused = t.call(Method::PUT, "/api/v1/status-rules", Some(&s.admin), Some(broken)).await;
    assert_eq!(refused.code(), "rule_unknown_fact", "{}", refused.text);
    assert!(refused.text.contains("line 1"), "{}", refused.text);
    let no_fallback = json!({"rules": [{"name": "hot", "when": "symptom.fever", "colour": "red"}], "note": "thử", "expected_version": 1});
    assert_eq!(
        t.call(Method::PUT, "/api/v1/status-rules", Some(&s.admin), Some(no_fallback)).await.code(),
        "rule_no_fallback"
    );

    // Back to a calmer table, as a list of rules this time: version 2.
    let calm = json!({"rules": [{"name": "fever", "when": "symptom.fever", "colour": "red"},
                                {"name": "missing", "when": "declaration.missing", "colour": "amber"},
                                {"name": "fine", "when": "always", "colour": "green"}],
                      "note": "Hết đợt dịch", "expected_version": 1});
    let r = t.call(Method::PUT, "/api/v1/status-rules", Some(&s.admin), Some(calm)).await;
    assert_eq!(r.body["version"], 2, "{}", r.text);
    assert_eq!(status_of(&scan(&t, &s.checker, "c-3", s.gate, &coughing).await), ("green", "fine"));

    // The history and the audit log hold both changes, with who and why.
    let history = t.get("/api/v1/status-rules/versions", Some(&s.admin)).await;
    let notes: Vec<&str> = history.body.as_array().unwrap().iter().map(|v| v["note"].as_str().unwrap()).collect();
    assert_eq!(notes, ["Hết đợt dịch", "Biến chủng mới lây qua đường hô hấp"]);
    assert_eq!(t.get("/api/v1/status-rules/versions", Some(&s.office)).await.status, StatusCode::FORBIDDEN);
    let audit = t.get("/api/v1/audit?action=status_rules_changed", Some(&s.admin)).await;
    let entries = audit.body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    assert_eq!(entries[1]["target_id"], "1");
    assert_eq!(entries[1]["details"]["note"], "Biến chủng mới lây qua đường hô hấp");
    assert!(entries[1]["details"]["rules"].as_str().unwrap().starts_with("cough: symptom.cough => red\n"));

    // The rules page shows the table to the province admin, with the form to change it.
    let cookie = common::web_cookie(&t, "0912000900").await;
    let page = t.send(Request::get("/admin/rules").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(page.text.contains("data-rule=\"fever\"") && page.text.contains("id=\"rules-edit\""), "{}", page.text);
    assert!(page.text.contains("Hết đợt dịch"));
}

async fn the_office_sees_who_declared_never_the_answers(t: TestApp) {
    let s = site(&t).await;
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let unit = unit.body["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for n in [221, 222, 223] {
        let (id, token) = t.citizen(n).await;
        ids.push(id);
        let r = t
            .post(
                &format!("/api/v1/agencies/{}/roster", s.agency),
                Some(&s.office),
                json!({"unit_id": unit, "full_name": "Nguyễn Văn An", "phone": format!("0912000{n}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        if n != 223 {
            let symptoms = if n == 222 { json!(["fever"]) } else { json!([]) };
            t.post("/api/v1/declarations", Some(&token), json!({"symptoms": symptoms})).await;
        }
    }
    let coverage = t.get(&format!("/api/v1/agencies/{}/declarations", s.agency), Some(&s.office)).await;
    assert_eq!(coverage.status, StatusCode::OK, "{}", coverage.text);
    let users: Vec<i64> = coverage.body.as_array().unwrap().iter().map(|c| c["user_id"].as_i64().unwrap()).collect();
    assert_eq!(users, [ids[0], ids[1]]);
    assert!(!coverage.text.contains("fever") && !coverage.text.contains("answers"), "{}", coverage.text);
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{}/declarations", s.agency), Some(&s.checker)).await.status,
        StatusCode::FORBIDDEN
    );
    let audit = t.get("/api/v1/audit?action=declaration_coverage_viewed", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().unwrap().len(), 1, "{}", audit.text);
    // The roster page marks who declared.
    let cookie = common::web_cookie(&t, "0912000100").await;
    let page = t
        .send(
            Request::get(format!("/agencies/{}/roster", s.agency))
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(page.text.contains("2/3"), "{}", page.text);
    assert_eq!(page.text.matches("class=\"badge ok declared\"").count(), 2, "{}", page.text);
}

async fn the_declaration_form_works_without_javascript(t: TestApp) {
    t.citizen(231).await;
    let cookie = common::web_cookie(&t, "0912000231").await;
    let form = t.send(Request::get("/declare").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text.contains("Sốt") && form.text.contains("Bệnh phổi mãn tính") && form.text.contains("Thành phố Huế")
    );
    let post = |body: &str| {
        Request::post("/declare")
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    // Without the pledge the form comes back with the answers kept.
    let unsworn = t.send(post("symptom=fever&symptom=cough&dose_date_1=2021-09-01&dose_vaccine_1=Moderna")).await;
    assert!(unsworn.text.contains("role=\"alert\"") && unsworn.text.contains("value=\"Moderna\""), "{}", unsworn.text);
    let half_test = t.send(post("test_date=2026-11-25&pledge=1")).await;
    assert!(half_test.text.contains("Xét nghiệm cần có loại, ngày và kết quả."), "{}", half_test.text);
    let sent = t
        .send(post("symptom=fever&symptom=cough&travel=46&condition=diabetes&dose_date_1=2021-09-01&dose_vaccine_1=Moderna&test_kind=pcr&test_date=2026-11-25&test_result=negative&notes=&pledge=1"))
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let pass = t.send(Request::get("/pass").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(pass.text.contains("data-colour=\"red\"") && pass.text.contains("Khai báo sốt"), "{}", pass.text);
    let history =
        t.send(Request::get("/declarations").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(history.text.contains("Sốt, Ho") && history.text.contains("Còn hiệu lực"), "{}", history.text);
    // The next form keeps what rarely changes (vaccination, conditions), not the symptoms.
    let next = t.send(Request::get("/declare").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert!(
        next.text.contains("value=\"Moderna\"") && next.text.contains("value=\"diabetes\" checked"),
        "{}",
        next.text
    );
    assert!(!next.text.contains("value=\"fever\" checked"));
}

async fn declarations_are_deleted_after_the_retention_period(t: TestApp) {
    let (_, token) = t.citizen(241).await;
    t.declare_well(&token).await;
    t.clock.advance(10 * 86_400);
    t.declare_well(&token).await;
    assert_eq!(t.app.purge_expired_declarations().await.unwrap(), 0, "nothing is older than 28 days yet");
    t.clock.advance(19 * 86_400);
    assert_eq!(t.app.purge_expired_declarations().await.unwrap(), 1);
    let left = t.get("/api/v1/declarations?days=28", Some(&token)).await;
    assert_eq!(left.body.as_array().unwrap().len(), 1, "{}", left.text);
}

fn walk_in(client_id: &str, cccd: &str, symptoms: Value) -> Value {
    json!({
        "client_id": client_id,
        "full_name": "Hồ Văn Tư",
        "birth_date": "1958-04-12",
        "sex": "male",
        "cccd": cccd,
        "phone": "0935777001",
        "address_unit": "19789",
        "answers": {"symptoms": symptoms}
    })
}

async fn a_walk_in_is_registered_checked_in_and_given_a_card(t: TestApp) {
    let s = site(&t).await;
    let path = format!("/api/v1/checkpoints/{}/walk-ins", s.gate);
    let (_, citizen) = t.citizen(251).await;
    assert_eq!(
        t.post(&path, Some(&citizen), walk_in("w-0", "046058000777", json!([]))).await.status,
        StatusCode::FORBIDDEN
    );

    let first = t.post(&path, Some(&s.checker), walk_in("w-1", "046058000777", json!([]))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["returning"], false);
    let answer = &first.body["answer"];
    assert_eq!(status_of(answer), ("green", "declared_well"), "{}", first.text);
    assert_eq!(answer["display_name"], "H. Tư");
    assert!(answer["visit_id"].is_i64(), "{}", first.text);
    let walker = first.body["user_id"].as_i64().unwrap();
    // The same request again (a retry) records nothing new.
    let retry = t.post(&path, Some(&s.checker), walk_in("w-1", "046058000777", json!([]))).await;
    assert_eq!(
        (retry.body["answer"]["resubmitted"].as_bool(), retry.body["user_id"].as_i64()),
        (Some(true), Some(walker))
    );

    // The declaration was filed by the checker on the walk-in's behalf, and it is audited.
    let audit = t.get("/api/v1/audit?action=walk_in_registered", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().unwrap().len(), 1, "{}", audit.text);
    let filed = t.get(&format!("/api/v1/audit?action=declaration_filed&subject={walker}"), Some(&s.admin)).await;
    assert_eq!(filed.body[0]["details"]["on_behalf"], true, "{}", filed.text);

    // Nobody signs in as a walk-in.
    let login =
        t.post("/api/v1/sessions", None, json!({"phone": "0935777001", "password": "cau-truong-tien-6-vai"})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.text);

    // Back the next day with a cough: found again by the CCCD, amber.
    t.clock.advance(86_400);
    let again = t.post(&path, Some(&s.checker), walk_in("w-2", "046058000777", json!(["cough"]))).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!((again.body["returning"].as_bool(), again.body["user_id"].as_i64()), (Some(true), Some(walker)));
    assert_eq!(status_of(&again.body["answer"]), ("amber", "symptoms"));

    // Someone with an account is sent back to their pass; bad input is refused by field.
    let mut account_holder = walk_in("w-3", "046085000251", json!([]));
    account_holder["birth_date"] = json!("1985-03-02");
    let has_account = t.post(&path, Some(&s.checker), account_holder).await;
    assert_eq!((has_account.status, has_account.code()), (StatusCode::CONFLICT, "walk_in_has_account"));
    let mut taken_phone = walk_in("w-4", "046058000778", json!([]));
    taken_phone["phone"] = json!("0912000251");
    assert_eq!(t.post(&path, Some(&s.checker), taken_phone).await.code(), "phone_taken");
    let mut no_id = walk_in("w-5", "", json!([]));
    no_id["phone"] = json!("");
    assert_eq!(t.post(&path, Some(&s.checker), no_id).await.code(), "identity_number_required");
    assert_eq!(
        t.post(&path, Some(&s.checker), walk_in("w-6", "046058000779", json!(["sneezing"]))).await.code(),
        "invalid_request"
    );

    // A card for the walk-in: the checker prints it, and it scans with the walk-in's status.
    let pdf = t.call(Method::POST, &format!("{path}/{walker}/card.pdf"), Some(&s.checker), None).await;
    assert_eq!((pdf.status, &pdf.raw[..5]), (StatusCode::OK, &b"%PDF-"[..]), "{}", pdf.text);
    assert!(pdf.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let (account, _) = t.citizen(252).await;
    assert_eq!(
        t.call(Method::POST, &format!("{path}/{account}/card.pdf"), Some(&s.checker), None).await.status,
        StatusCode::FORBIDDEN,
        "a checker prints cards for walk-ins only"
    );
    let checker = t.app.authenticate(&s.checker, vaora_app::auth::RequestMeta::default()).await.unwrap();
    let card = t
        .app
        .issue_walk_in_card(&checker, vaora_domain::CheckpointId(s.gate), vaora_domain::UserId(walker))
        .await
        .unwrap();
    let scanned = t
        .post(
            "/api/v1/scans",
            Some(&s.checker),
            json!({"client_id": "card-1", "checkpoint_id": s.gate, "code": card.code}),
        )
        .await;
    assert_eq!(status_of(&scanned.body), ("amber", "symptoms"), "{}", scanned.text);

    // The same without JavaScript, from the checker's screen.
    let cookie = common::web_cookie(&t, "0912000101").await;
    let form = t
        .send(
            Request::get(format!("/check/{}/walk-in", s.gate))
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(form.text.contains("name=\"client_id\"") && form.text.contains("data-wards=\"ward\""), "{}", form.text);
    let post = |body: &str| {
        Request::post(format!("/check/{}/walk-in", s.gate))
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let wards = t.send(post("full_name=L%C3%AA+Th%E1%BB%8B+N%C4%83m&province=46&action=load_wards")).await;
    assert!(
        wards.text.contains("value=\"19789\"") && wards.text.contains("Lê Thị Năm"),
        "the wards of Huế: {}",
        wards.text
    );
    let done = t
        .send(post("client_id=page-1&full_name=L%C3%AA+Th%E1%BB%8B+N%C4%83m&cccd=046165000321&birth_date=1965-07-01&sex=female&phone=&province=46&ward=19789&street=&symptom=fever&confirmed=1"))
        .await;
    assert!(done.text.contains("data-colour=\"red\"") && done.text.contains("Khai báo sốt"), "{}", done.text);
    let card_form =
        done.text.split("action=\"").find(|a| a.contains("/card\"")).unwrap().split('"').next().unwrap().to_owned();
    let printed = t
        .send(
            Request::post(card_form)
                .header(header::COOKIE, &cookie)
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(&printed.raw[..5], b"%PDF-");
}
