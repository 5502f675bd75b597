//! Agency statistics against hand-computed figures on a small day: a staff member who scans at
//! two checkpoints, a person on two units' rosters, a visitor, a refused code, a late arrival at
//! 23:59 whose visit runs past midnight, a scan at 00:01 the next day, and a day with no scans.
//! On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, site};
use serde_json::{Value, json};

both_engines!(
    an_agency_day_counts_exactly_what_happened,
    the_statistics_screen_shows_the_day_without_javascript,
    exports_open_in_a_spreadsheet_with_the_same_numbers,
    the_province_ranking_follows_every_change_and_agrees_with_the_agency,
);

async fn scan(t: &TestApp, checker: &str, id: &str, checkpoint: i64, holder: &str) -> Value {
    let code =
        t.call(Method::POST, "/api/v1/passes", Some(holder), None).await.body["code"].as_str().unwrap().to_owned();
    scan_code(t, checker, id, checkpoint, &code).await
}

async fn scan_code(t: &TestApp, checker: &str, id: &str, checkpoint: i64, code: &str) -> Value {
    let r = t
        .post("/api/v1/scans", Some(checker), json!({"client_id": id, "checkpoint_id": checkpoint, "code": code}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn unit<'a>(day: &'a Value, name: &str) -> &'a Value {
    day["units"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()
}

fn missing(u: &Value) -> Vec<&str> {
    u["missing"].as_array().unwrap().iter().map(|m| m["full_name"].as_str().unwrap()).collect()
}

async fn an_agency_day_counts_exactly_what_happened(t: TestApp) {
    // The clock starts at 09:00 on 27 November 2026, Vietnam time.
    let s = site(&t).await;
    let office = &s.office;
    let agency = s.agency;
    let mut units = Vec::new();
    for name in ["Văn phòng", "Kế toán"] {
        let r = t.post(&format!("/api/v1/agencies/{agency}/units"), Some(office), json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        units.push(r.body["id"].as_i64().unwrap());
    }
    let (office_unit, accounts_unit) = (units[0], units[1]);
    let reception = t
        .post(
            &format!("/api/v1/agencies/{agency}/checkpoints"),
            Some(office),
            json!({"name": "Lễ tân", "mode": "entry", "default_stay_minutes": 480}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let r = t
        .post(&format!("/api/v1/checkpoints/{reception}/checkers"), Some(office), json!({"phone": "0912000101"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let (_, an) = t.citizen(301).await;
    let (_, binh) = t.citizen(302).await;
    let (_, cuong) = t.citizen(303).await;
    let (_, visitor) = t.citizen(304).await;
    for (unit, name, phone) in [
        (office_unit, "An", "0912000301"),
        (office_unit, "Bình", "0912000302"),
        (accounts_unit, "Bình", "0912000302"),
        (accounts_unit, "Cường", "0912000303"),
        (office_unit, "Em", "0912999999"),
    ] {
        let r = t
            .post(
                &format!("/api/v1/agencies/{agency}/roster"),
                Some(office),
                json!({"unit_id": unit, "full_name": name, "position": "Chuyên viên", "phone": phone}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = t
        .call(
            Method::PUT,
            &format!("/api/v1/agencies/{agency}/work-start"),
            Some(office),
            Some(json!({"time": "09:30"})),
        )
        .await;
    assert_eq!((r.status, r.body["time"].as_str()), (StatusCode::OK, Some("09:30")), "{}", r.text);

    // 09:00: An (declared) and Bình at the gate, and a code that is not a pass.
    t.declare_well(&an).await;
    scan(&t, &s.checker, "a-1", s.gate, &an).await;
    scan(&t, &s.checker, "b-1", s.gate, &binh).await;
    scan_code(&t, &s.checker, "x-1", s.gate, "VP1NOTAPASS").await;
    // 10:00: An again, at reception (still one arrival, at 09:00), and a visitor.
    t.clock.advance(3600);
    scan(&t, &s.checker, "a-2", reception, &an).await;
    scan(&t, &s.checker, "v-1", reception, &visitor).await;
    // 23:59: Cường arrives, late; his visit runs past midnight.
    t.clock.advance(13 * 3600 + 59 * 60);
    scan(&t, &s.checker, "c-1", s.gate, &cuong).await;

    let day = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-27"), Some(office)).await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.text);
    let d = &day.body;
    assert_eq!(d["work_starts"], "09:30");
    assert_eq!((d["roster"].as_u64(), d["present"].as_u64()), (Some(4), Some(3)), "Bình is one person: {}", day.text);
    assert_eq!(d["compliance"], 0.75);
    assert_eq!((d["late"].as_u64(), d["declared"].as_u64(), d["visitors"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(d["scans"], 6, "the refused code counts as a scan, not as an arrival");
    let arrivals: Vec<(&str, &str)> = d["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["full_name"].as_str().unwrap(), a["first_scan_at"].as_str().unwrap()))
        .collect();
    assert_eq!(
        arrivals,
        [
            ("An", "2026-11-27T02:00:00.000Z"),
            ("Bình", "2026-11-27T02:00:00.000Z"),
            ("Cường", "2026-11-27T16:59:00.000Z")
        ]
    );
    assert_eq!(d["arrivals"][0]["checkpoint_id"], s.gate, "An's first scan, not his second");
    assert_eq!(d["arrivals"][1]["units"].as_array().unwrap().len(), 2);
    let vp = unit(d, "Văn phòng");
    assert_eq!((vp["roster"].as_u64(), vp["present"].as_u64(), vp["late"].as_u64()), (Some(3), Some(2), Some(0)));
    assert_eq!(vp["declared"], 1);
    assert_eq!(missing(vp), ["Em"]);
    assert_eq!(vp["missing"][0]["has_account"], false);
    let kt = unit(d, "Kế toán");
    assert_eq!((kt["roster"].as_u64(), kt["present"].as_u64(), kt["late"].as_u64()), (Some(2), Some(2), Some(1)));
    assert_eq!(kt["compliance"], 1.0);
    let hours = |d: &Value, checkpoint: i64| -> Vec<i64> {
        let h = d["hours"].as_array().unwrap().iter().find(|h| h["checkpoint_id"] == checkpoint).unwrap();
        h["scans"].as_array().unwrap().iter().map(|n| n.as_i64().unwrap()).collect()
    };
    let mut gate = vec![0; 24];
    gate[9] = 3;
    gate[23] = 1;
    assert_eq!(hours(d, s.gate), gate);
    let mut desk = vec![0; 24];
    desk[10] = 2;
    assert_eq!(hours(d, reception), desk);

    // 00:01 the next day: Bình at the gate. Cường's visit from last night does not make him
    // present today.
    t.clock.advance(2 * 60);
    scan(&t, &s.checker, "b-2", s.gate, &binh).await;
    let next = t.get(&format!("/api/v1/agencies/{agency}/stats/day"), Some(office)).await.body;
    assert_eq!(next["date"], "2026-11-28", "today, in Vietnam");
    assert_eq!(
        (next["present"].as_u64(), next["late"].as_u64(), next["visitors"].as_u64()),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(missing(unit(&next, "Kế toán")), ["Cường"]);
    let mut gate = vec![0; 24];
    gate[0] = 1;
    assert_eq!(hours(&next, s.gate), gate);

    // A day with no scans: nobody present, every hour zero, everyone missing.
    let empty = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-26"), Some(office)).await.body;
    assert_eq!(
        (empty["present"].as_u64(), empty["scans"].as_i64(), empty["compliance"].as_f64()),
        (Some(0), Some(0), Some(0.0))
    );
    assert_eq!(missing(unit(&empty, "Văn phòng")), ["An", "Bình", "Em"]);
    assert_eq!(hours(&empty, s.gate), vec![0; 24]);

    // Each unit's trend over the three days equals its line in each day.
    let trend =
        t.get(&format!("/api/v1/agencies/{agency}/stats/units?from=2026-11-26&to=2026-11-28"), Some(office)).await;
    assert_eq!(trend.status, StatusCode::OK, "{}", trend.text);
    let before = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-27"), Some(office)).await.body;
    let trend = trend.body.as_array().unwrap().clone();
    assert_eq!(trend.iter().map(|u| u["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Kế toán", "Văn phòng"]);
    for u in &trend {
        let name = u["name"].as_str().unwrap();
        assert_eq!(u["dates"], json!(["2026-11-26", "2026-11-27", "2026-11-28"]));
        for (i, d) in [&empty, &before, &next].into_iter().enumerate() {
            assert_eq!(u["present"][i], unit(d, name)["present"], "{name}, day {i}");
            assert_eq!(u["roster"], unit(d, name)["roster"], "{name}");
            assert_eq!(u["compliance"][i], unit(d, name)["compliance"], "{name}, day {i}");
        }
    }
    assert!(trend.iter().any(|u| u["present"][1].as_i64().unwrap() > 0), "someone came on the 27th");
    let r = t.get(&format!("/api/v1/agencies/{agency}/stats/units"), Some(&an)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Only the agency's admins and the province see it, and every view is audited.
    let r = t.get(&format!("/api/v1/agencies/{agency}/stats/day"), Some(&an)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let province = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-27"), Some(&s.admin)).await;
    assert_eq!(province.body["present"], 3);
    let r = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-29"), Some(office)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "stats_date_in_future"));
    let r = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=27/11/2026"), Some(office)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_date"));
    let r = t
        .call(
            Method::PUT,
            &format!("/api/v1/agencies/{agency}/work-start"),
            Some(office),
            Some(json!({"time": "25:00"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_work_start"));
    let audit = t.get("/api/v1/audit?action=agency_day_viewed", Some(&s.admin)).await;
    assert_eq!(audit.body.as_array().unwrap().len(), 5, "{}", audit.text);
}

async fn the_statistics_screen_shows_the_day_without_javascript(t: TestApp) {
    let s = site(&t).await;
    let (_, an) = t.citizen(311).await;
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let unit = unit.body["id"].as_i64().unwrap();
    for (name, phone) in [("Trần Văn An", "0912000311"), ("Lê Thị Bích", "0912000312")] {
        let r = t
            .post(
                &format!("/api/v1/agencies/{}/roster", s.agency),
                Some(&s.office),
                json!({"unit_id": unit, "full_name": name, "phone": phone}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    scan(&t, &s.checker, "an-1", s.gate, &an).await;
    let cookie = common::web_cookie(&t, "0912000100").await;
    let get = |path: &str| Request::get(path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let page = t.send(get(&format!("/agencies/{}/stats", s.agency))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("<strong id=\"present\">1</strong> / 2"), "{}", page.text);
    assert!(page.text.contains("50 %") && page.text.contains("Lê Thị Bích") && page.text.contains("Trần Văn An"));
    assert!(page.text.contains("\"name\":\"Cổng chính\""), "the chart's data: {}", page.text);
    assert!(page.text.contains("/vendor/uplot.js"));
    // The chart library is served by vaora itself.
    let assets = page.text.split("/assets/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let lib = t.send(get(&format!("/assets/{assets}/vendor/uplot.js"))).await;
    assert_eq!(lib.status, StatusCode::OK);
    assert!(lib.text.contains("uPlot"));
    // Changing the start of the working day through the form.
    let r = t
        .send(
            Request::post(format!("/agencies/{}/work-start", s.agency))
                .header(header::COOKIE, &cookie)
                .header("sec-fetch-site", "same-origin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("time=08:15"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let again = t.send(get(&format!("/agencies/{}/stats", s.agency))).await;
    assert!(again.text.contains("value=\"08:15\""), "{}", again.text);
    // A day not yet come is refused; someone else's agency is forbidden.
    let r = t.send(get(&format!("/agencies/{}/stats?date=2030-01-01", s.agency))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let citizen_cookie = common::web_cookie(&t, "0912000311").await;
    let r = t
        .send(
            Request::get(format!("/agencies/{}/stats", s.agency))
                .header(header::COOKIE, &citizen_cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Converts every sheet of an XLSX file to CSV with LibreOffice, as a health office would open it,
/// and returns the sheets' rows by sheet name.
/// The text of a PDF, laid out as on the page (Poppler's `pdftotext`, which `.ci/run` installs).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("vaora-report-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is needed for this test (apt-get install poppler-utils)");
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn libreoffice_sheets(xlsx: &[u8], names: &[&str]) -> Vec<Vec<Vec<String>>> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("vaora-lo-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("day.xlsx");
    std::fs::write(&file, xlsx).unwrap();
    let out = std::process::Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", dir.join("profile").display()))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
        ])
        .arg("--outdir")
        .arg(&dir)
        .arg(&file)
        .output()
        .expect("LibreOffice (soffice) is installed: .ci/run installs libreoffice-calc-nogui");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sheets = names
        .iter()
        .map(|name| {
            let path = dir.join(format!("day-{name}.csv"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
            reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    sheets
}

async fn exports_open_in_a_spreadsheet_with_the_same_numbers(t: TestApp) {
    let s = site(&t).await;
    let (_, lan) = t.citizen(321).await;
    let (_, visitor) = t.citizen(322).await;
    // Names a spreadsheet could take for formulas: a unit, a roster name, a position.
    let unit =
        t.post(&format!("/api/v1/agencies/{}/units", s.agency), Some(&s.office), json!({"name": "=1+1 Phòng"})).await;
    assert_eq!(unit.status, StatusCode::CREATED, "{}", unit.text);
    let unit = unit.body["id"].as_i64().unwrap();
    for (name, position, phone) in
        [("-Trần Thị Lan", "@Trưởng phòng", "0912000321"), ("Võ Văn Tùng", "+Phó phòng", "0912000323")]
    {
        let r = t
            .post(
                &format!("/api/v1/agencies/{}/roster", s.agency),
                Some(&s.office),
                json!({"unit_id": unit, "full_name": name, "position": position, "phone": phone}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    t.declare_well(&lan).await;
    scan(&t, &s.checker, "l-1", s.gate, &lan).await;
    scan(&t, &s.checker, "v-1", s.gate, &visitor).await;
    let api = t.get(&format!("/api/v1/agencies/{}/stats/day", s.agency), Some(&s.office)).await.body;
    assert_eq!(
        (api["present"].as_u64(), api["visitors"].as_u64(), api["roster"].as_u64()),
        (Some(1), Some(1), Some(2))
    );

    let xlsx = t.get(&format!("/api/v1/agencies/{}/stats/day.xlsx", s.agency), Some(&s.office)).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.raw.starts_with(b"PK"), "a zip container");
    let sheets = libreoffice_sheets(&xlsx.raw, &["Tổng quan", "Đơn vị", "Đã đến", "Chưa quét mã", "Theo giờ"]);
    let (summary, units, arrivals, missing, hours) = (&sheets[0], &sheets[1], &sheets[2], &sheets[3], &sheets[4]);
    let figure = |label: &str| summary.iter().find(|r| r[0] == label).map(|r| r[1].clone()).unwrap();
    assert_eq!(figure("Có mặt"), api["present"].to_string());
    assert_eq!(figure("Khách đến"), api["visitors"].to_string());
    assert_eq!(figure("Số người trong danh sách"), api["roster"].to_string());
    assert_eq!(figure("Lượt quét"), api["scans"].to_string());
    assert_eq!(figure("Tỷ lệ có mặt"), "50.0%");
    // The unit named "=1+1 Phòng" is text, not 2 or an error; its numbers are the API's.
    assert_eq!(
        units[0],
        ["Đơn vị", "Số người trong danh sách", "Có mặt", "Tỷ lệ có mặt", "Đi muộn", "Đã khai báo y tế"]
    );
    let row = units.iter().find(|r| r[0].contains("Phòng")).unwrap();
    assert_eq!(row[0], "=1+1 Phòng");
    assert_eq!((row[1].as_str(), row[2].as_str(), row[5].as_str()), ("2", "1", "1"));
    assert_eq!(arrivals[1][0], "-Trần Thị Lan", "a name beginning with - stays text");
    assert_eq!(arrivals[1][2], "09:00");
    assert_eq!(missing[1], ["=1+1 Phòng", "Võ Văn Tùng", "+Phó phòng", "Không"], "he has no account yet");
    let total: i64 = hours[1..].iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(total, api["scans"].as_i64().unwrap());

    // The CSV of one table: a byte-order mark for Excel, and risky cells behind an apostrophe.
    let csv = t.get(&format!("/api/v1/agencies/{}/stats/day.csv?table=missing", s.agency), Some(&s.office)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.raw.starts_with(b"\xEF\xBB\xBF"));
    assert!(csv.text.contains("'=1+1 Phòng,Võ Văn Tùng,'+Phó phòng,Không"), "{}", csv.text);
    let r = t.get(&format!("/api/v1/agencies/{}/stats/day.csv?table=secrets", s.agency), Some(&s.office)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_table"));
    // The printed daily report: the figures, who is missing and who came late, as text in a PDF.
    let pdf = t.get(&format!("/api/v1/agencies/{}/stats/day.pdf", s.agency), Some(&s.office)).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.text);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    let text = pdf_text(&pdf.raw);
    for line in [
        "Báo cáo kiểm soát ra vào ngày 27/11/2026",
        "Sở SGTVT",
        "Giờ bắt đầu làm việc: 07:30",
        "50,0 %",
        "=1+1 Phòng",
        "Chưa quét mã (1)",
        "Võ Văn Tùng",
        "+Phó phòng",
        "Đến muộn (1)",
        "-Trần Thị Lan",
        "09:00",
        "Cổng chính",
        "Trang 1/1",
    ] {
        assert!(text.contains(line), "{line:?} missing from the report:\n{text}");
    }
    let staff_lines = text.lines().filter(|l| l.contains("Trần Thị Lan") || l.contains("Võ Văn Tùng")).count();
    assert_eq!(staff_lines, 2, "Lan once (late), Tùng once (missing); the visitor is no staff:\n{text}");
    let req = Request::get(format!("/api/v1/agencies/{}/stats/day.pdf?date=2026-11-27", s.agency))
        .header(header::AUTHORIZATION, format!("Bearer {}", s.office))
        .header("accept-language", "en-GB,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let english = pdf_text(&t.send(req).await.raw);
    for line in ["Check-in report for 27/11/2026", "Did not check in (1)", "Came late (1)", "50.0 %", "Page 1/1"] {
        assert!(english.contains(line), "{line:?} missing from the English report:\n{english}");
    }
    let r = t.get(&format!("/api/v1/agencies/{}/stats/day.pdf?date=2026-13-01", s.agency), Some(&s.office)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_date"));

    // Exports are for the agency's admins, and each is audited.
    let (_, other) = t.citizen(324).await;
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{}/stats/day.xlsx", s.agency), Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{}/stats/day.pdf", s.agency), Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );
    let audit = t.get("/api/v1/audit?action=stats_exported", Some(&s.admin)).await;
    let formats: Vec<&str> =
        audit.body.as_array().unwrap().iter().map(|e| e["details"]["format"].as_str().unwrap_or("")).collect();
    assert_eq!(formats.len(), 4, "{}", audit.text);
    assert_eq!(formats.iter().filter(|f| **f == "pdf").count(), 2, "{}", audit.text);
}

async fn the_province_ranking_follows_every_change_and_agrees_with_the_agency(t: TestApp) {
    let s = site(&t).await;
    let agency = s.agency;
    // A second agency with one checkpoint and nobody on its roster.
    let (other, _, other_office) = t.agency_with_admin(&s.admin, "SYT", 330).await;
    let clinic = t
        .post(
            &format!("/api/v1/agencies/{other}/checkpoints"),
            Some(&other_office),
            json!({"name": "Cổng Sở Y tế", "mode": "entry", "default_stay_minutes": 60}),
        )
        .await;
    assert_eq!(clinic.status, StatusCode::CREATED, "{}", clinic.text);
    let unit = t.post(&format!("/api/v1/agencies/{agency}/units"), Some(&s.office), json!({"name": "Văn phòng"})).await;
    let unit = unit.body["id"].as_i64().unwrap();
    let mut entries = Vec::new();
    for (name, phone) in [("Trần An", "0912000331"), ("Lê Bình", "0912000332")] {
        let r = t
            .post(
                &format!("/api/v1/agencies/{agency}/roster"),
                Some(&s.office),
                json!({"unit_id": unit, "full_name": name, "phone": phone}),
            )
            .await;
        entries.push(r.body["id"].as_i64().unwrap());
    }
    let (_, an) = t.citizen(331).await;
    let (_, binh) = t.citizen(332).await;
    let (_, cuong) = t.citizen(333).await;
    t.call(
        Method::PUT,
        &format!("/api/v1/agencies/{agency}/work-start"),
        Some(&s.office),
        Some(json!({"time": "09:30"})),
    )
    .await;
    // 09:00 An and a visitor, Cường; 10:00 Bình, late.
    scan(&t, &s.checker, "p-1", s.gate, &an).await;
    scan(&t, &s.checker, "p-2", s.gate, &cuong).await;
    t.clock.advance(3600);
    scan(&t, &s.checker, "p-3", s.gate, &binh).await;

    let ranking = |q: &'static str| {
        let t = &t;
        let admin = s.admin.clone();
        async move { t.get(&format!("/api/v1/stats/province{q}"), Some(&admin)).await.body }
    };
    let figures = |r: &Value, id: i64| -> (i64, i64, i64, i64, f64) {
        let g = r["agencies"].as_array().unwrap().iter().find(|g| g["agency_id"] == id).unwrap().clone();
        (
            g["roster"].as_i64().unwrap(),
            g["staff_days"].as_i64().unwrap(),
            g["visitors"].as_i64().unwrap(),
            g["late"].as_i64().unwrap(),
            g["compliance"].as_f64().unwrap(),
        )
    };
    let day_of = || async {
        let d = t.get(&format!("/api/v1/agencies/{agency}/stats/day?date=2026-11-27"), Some(&s.office)).await.body;
        (
            d["roster"].as_i64().unwrap(),
            d["present"].as_i64().unwrap(),
            d["visitors"].as_i64().unwrap(),
            d["late"].as_i64().unwrap(),
        )
    };
    let today = "?from=2026-11-27&to=2026-11-27";
    let r = ranking(today).await;
    assert_eq!((r["days"].as_i64(), r["agencies"].as_array().unwrap().len()), (Some(1), 2));
    assert_eq!(r["agencies"][0]["agency_id"], agency, "best compliance first: {r}");
    assert_eq!(figures(&r, agency), (2, 2, 1, 1, 1.0));
    assert_eq!(figures(&r, other), (0, 0, 0, 0, 0.0));
    assert_eq!(day_of().await, (2, 2, 1, 1), "the agency's own day agrees");

    // Cường joins the roster: he was staff that day after all.
    t.post(
        &format!("/api/v1/agencies/{agency}/roster"),
        Some(&s.office),
        json!({"unit_id": unit, "full_name": "Phạm Cường", "phone": "0912000333"}),
    )
    .await;
    assert_eq!(figures(&ranking(today).await, agency), (3, 3, 0, 1, 1.0));
    assert_eq!(day_of().await, (3, 3, 0, 1));
    // The working day starts at 10:30: nobody was late.
    t.call(
        Method::PUT,
        &format!("/api/v1/agencies/{agency}/work-start"),
        Some(&s.office),
        Some(json!({"time": "10:30"})),
    )
    .await;
    assert_eq!(figures(&ranking(today).await, agency).3, 0);
    assert_eq!(day_of().await.3, 0);
    // Bình leaves the roster: his arrival counts as a visitor's.
    let r = t
        .call(Method::DELETE, &format!("/api/v1/agencies/{agency}/roster/{}", entries[1]), Some(&s.office), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(figures(&ranking(today).await, agency), (2, 2, 1, 0, 1.0));
    assert_eq!(day_of().await, (2, 2, 1, 0));

    // The next day only An comes: over two days, 3 staff arrivals of 2 people × 2 days.
    t.clock.advance(24 * 3600);
    scan(&t, &s.checker, "p-4", s.gate, &an).await;
    let two = ranking("?from=2026-11-27&to=2026-11-28").await;
    assert_eq!(figures(&two, agency), (2, 3, 1, 0, 0.75));
    let trend = t
        .get(&format!("/api/v1/agencies/{agency}/stats/range?from=2026-11-26&to=2026-11-28"), Some(&s.office))
        .await
        .body;
    let present: Vec<i64> = trend.as_array().unwrap().iter().map(|d| d["present"].as_i64().unwrap()).collect();
    assert_eq!(present, [0, 2, 1], "{trend}");
    assert_eq!(trend[2]["date"], "2026-11-28");
    // Today the clinic's gate has not scanned: a risk the province sees.
    let idle = t.get("/api/v1/stats/idle-checkpoints", Some(&s.admin)).await.body;
    let names: Vec<&str> = idle.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Cổng Sở Y tế"]);
    let mut hours = vec![0; 24];
    hours[9] = 2;
    hours[10] = 1;
    assert_eq!(t.get("/api/v1/stats/province/hours?date=2026-11-27", Some(&s.admin)).await.body, json!(hours));

    // The province's page and its exports show the same figures.
    let admin_cookie = common::web_cookie(&t, "0912000900").await;
    let page = t
        .send(
            Request::get("/admin/stats?from=2026-11-27&to=2026-11-28")
                .header(header::COOKIE, &admin_cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("75 %") && page.text.contains("3 / 4") && page.text.contains("Cổng Sở Y tế"),
        "{}",
        page.text
    );
    let xlsx = t.get("/api/v1/stats/province.xlsx?from=2026-11-27&to=2026-11-28", Some(&s.admin)).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let sheets = libreoffice_sheets(&xlsx.raw, &["Xếp hạng", "Điểm chưa quét", "Theo giờ"]);
    assert_eq!(sheets[0][1][..5], ["1", "Sở SGTVT", "2", "3", "75.0%"], "{:?}", sheets[0]);
    assert_eq!(sheets[1][1], ["Sở SYT", "Cổng Sở Y tế"]);
    let csv = t.get("/api/v1/stats/province.csv?from=2026-11-27&to=2026-11-28", Some(&s.admin)).await;
    assert!(csv.text.contains("1,Sở SGTVT,2,3,0.7500,1,0,0"), "{}", csv.text);

    // The province's views are the province admins'; an agency sees its own trend only.
    assert_eq!(t.get("/api/v1/stats/province", Some(&s.office)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/stats/idle-checkpoints", Some(&s.office)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/stats/province.xlsx", Some(&s.office)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get(&format!("/api/v1/agencies/{agency}/stats/range"), Some(&other_office)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = t.get("/api/v1/stats/province?from=2026-11-28&to=2026-11-27", Some(&s.admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_range"));
}
