//! Posters and cards as people print them: each rendered file's QR codes are read back by ZBar
//! (Debian's `zbarimg`, an independent decoder) and then used, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use serde_json::json;

both_engines!(a_printed_poster_checks_a_citizen_in, printed_cards_scan_green);

fn tool(name: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed (apt-get install poppler-utils zbar-tools; .ci/run does): {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vaora-print-{}-{tag}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// Every QR code ZBar finds in the first page of a PDF rendered at `dpi`.
fn pdf_codes(pdf: &[u8], dpi: &str) -> Vec<String> {
    let dir = temp("pdf");
    let file = dir.join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    tool(
        "pdftoppm",
        &["-r", dpi, "-png", "-f", "1", "-l", "1", file.to_str().unwrap(), dir.join("p").to_str().unwrap()],
    );
    let png = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .unwrap();
    let out = tool("zbarimg", &["--quiet", "--raw", png.to_str().unwrap()]);
    std::fs::remove_dir_all(dir).unwrap();
    out.lines().map(str::to_owned).collect()
}

/// The office's token, the agency and its gate (the shared site, whose checker is not needed here).
async fn setup(t: &TestApp) -> (String, i64, i64) {
    let s = common::site(t).await;
    (s.office, s.agency, s.gate)
}

async fn a_printed_poster_checks_a_citizen_in(t: TestApp) {
    let (office, agency, gate) = setup(&t).await;
    t.post(
        &format!("/api/v1/agencies/{agency}/checkpoints"),
        Some(&office),
        json!({"name": "Bộ phận Một cửa", "mode": "both", "default_stay_minutes": 60}),
    )
    .await;
    // The PNG poster, read back by ZBar.
    let png = t.get(&format!("/api/v1/checkpoints/{gate}/poster.png"), Some(&office)).await;
    assert_eq!((png.status, png.headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "image/png"));
    let dir = temp("png");
    let file = dir.join("poster.png");
    let bytes = t
        .send(
            Request::get(format!("/api/v1/checkpoints/{gate}/poster.png"))
                .header(header::AUTHORIZATION, format!("Bearer {office}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    std::fs::write(&file, bytes.raw).unwrap();
    let url = tool("zbarimg", &["--quiet", "--raw", file.to_str().unwrap()]).trim().to_owned();
    std::fs::remove_dir_all(dir).unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/v/VV1"), "{url}");
    // Opened by a signed-in citizen, the URL makes a visit.
    let (_, citizen) = t.citizen(201).await;
    let r = t.post("/api/v1/checkins", Some(&citizen), json!({"venue": url})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["checkpoint_name"], "Cổng chính");
    // The SVG poster carries the Vietnamese texts; the agency's PDF has one page per checkpoint.
    let svg = t.get(&format!("/api/v1/checkpoints/{gate}/poster.svg"), Some(&office)).await;
    assert!(svg.text.contains("Cổng chính") && svg.text.contains("QUÉT MÃ QR KHI VÀO"));
    let all = t
        .send(
            Request::get(format!("/api/v1/agencies/{agency}/posters.pdf"))
                .header(header::AUTHORIZATION, format!("Bearer {office}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(all.headers[header::CONTENT_TYPE], "application/pdf");
    let dir = temp("all");
    let pdf = dir.join("all.pdf");
    std::fs::write(&pdf, &all.raw).unwrap();
    assert!(tool("pdfinfo", &[pdf.to_str().unwrap()]).contains("Pages:           2"));
    let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("Cổng chính") && text.contains("Bộ phận Một cửa") && text.contains("Sở SGTVT"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
    // Pages follow the checkpoints' names: the first is the desk's poster, and its code works.
    let first = pdf_codes(&all.raw, "100");
    assert_eq!(first.len(), 1);
    let r = t.post("/api/v1/checkins", Some(&citizen), json!({"venue": first[0]})).await;
    assert_eq!(r.body["checkpoint_name"], "Bộ phận Một cửa", "{}", r.text);
    // Others cannot download them; an unknown format is a 404.
    assert_eq!(
        t.get(&format!("/api/v1/checkpoints/{gate}/poster.pdf"), Some(&citizen)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get(&format!("/api/v1/checkpoints/{gate}/poster.gif"), Some(&office)).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn printed_cards_scan_green(t: TestApp) {
    let (office, _, gate) = setup(&t).await;
    let mut people = Vec::new();
    for n in 210..213 {
        let (id, token) = t.citizen(n).await;
        t.declare_well(&token).await;
        people.push(id);
    }
    let sheet = t
        .send(
            Request::post("/api/v1/cards/sheet")
                .header(header::AUTHORIZATION, format!("Bearer {office}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"people": people}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.text);
    let mut codes = pdf_codes(&sheet.raw, "200");
    codes.sort();
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("VC1")));
    t.post(&format!("/api/v1/checkpoints/{gate}/checkers"), Some(&office), json!({"phone": "0912000210"})).await;
    for (i, code) in codes.iter().enumerate() {
        let r = t
            .post(
                "/api/v1/scans",
                Some(&office),
                json!({"client_id": format!("card-{i}"), "checkpoint_id": gate, "code": code}),
            )
            .await;
        assert_eq!(
            (r.body["colour"].as_str(), r.body["display_name"].as_str()),
            (Some("green"), Some("N. An")),
            "{}",
            r.text
        );
    }
    // Re-printing revokes the earlier cards.
    let again = t
        .send(
            Request::post("/api/v1/cards/sheet")
                .header(header::AUTHORIZATION, format!("Bearer {office}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"people": [people[0]]}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let old = codes.iter().map(|c| {
        t.post(
            "/api/v1/scans",
            Some(&office),
            json!({"client_id": format!("old-{}", &c[3..12]), "checkpoint_id": gate, "code": c}),
        )
    });
    let mut revoked = 0;
    for f in old {
        if f.await.body["reason"] == "card_revoked" {
            revoked += 1;
        }
    }
    assert_eq!(revoked, 1);
    let (_, citizen) = t.citizen(213).await;
    let r = t.post("/api/v1/cards/sheet", Some(&citizen), json!({"people": [people[0]]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(t.post("/api/v1/cards/sheet", Some(&office), json!({"people": []})).await.code(), "invalid_card_count");
}
