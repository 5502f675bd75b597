//! The `vaora` binary as a newcomer uses it: `serve` on SQLite and on PostgreSQL, the demo and its
//! printed accounts, `config example`, `migrate`, `audit verify`, and configuration errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn vaora() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vaora"));
    c.env_remove("VAORA_DATABASE").env_remove("VAORA_DATA_DIR").env_remove("VAORA_CONFIG").env("VAORA_LOG", "warn");
    c
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vaora-cli-{tag}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `vaora serve`, killed on drop.
struct Server {
    child: Child,
    addr: String,
    stdout_lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(global: &[&str], extra: &[&str]) -> Server {
    let child = vaora()
        .args(global)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // From here on the child is killed and waited for on drop, whatever happens.
    let mut server = Server { child, addr: String::new(), stdout_lines: Vec::new() };
    let mut reader = BufReader::new(server.child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "vaora exited early: {:?}", server.stdout_lines);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            server.addr = rest.split_whitespace().next().unwrap().to_owned();
            return server;
        }
        server.stdout_lines.push(line.trim_end().to_owned());
        assert!(Instant::now() < deadline, "vaora did not start");
    }
}

/// One HTTP/1.1 request over a plain socket: (status, body).
fn http(addr: &str, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    http_as(addr, method, path, json, None)
}

fn http_as(addr: &str, method: &str, path: &str, json: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = json.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn serve_with_demo_on_sqlite_then_every_printed_account_signs_in() {
    let dir = temp_dir("demo");
    let server = serve(&["--data-dir", dir.to_str().unwrap()], &["--demo"]);
    assert_eq!(http(&server.addr, "GET", "/healthz", None).0, 200);
    let (status, page) = http(&server.addr, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(page.contains("Đăng nhập"));
    let accounts: Vec<(String, String, String)> = server
        .stdout_lines
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[1].len() == 10 && f[1].starts_with('0'))
                .then(|| (f[0].to_owned(), f[1].to_owned(), f[2].to_owned()))
        })
        .collect();
    let roles: Vec<&str> = accounts.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        roles,
        ["province_admin", "health_official", "agency_admin", "checker", "citizen"],
        "{:?}",
        server.stdout_lines
    );
    for (role, phone, password) in &accounts {
        let (status, body) = http(
            &server.addr,
            "POST",
            "/api/v1/sessions",
            Some(&format!("{{\"phone\":\"{phone}\",\"password\":\"{password}\"}}")),
        );
        assert_eq!(status, 201, "{role} cannot sign in: {body}");
    }
    assert!(dir.join("vaora.db").exists() && dir.join("master.key").exists());
    // A third-party kiosk verifies a pass offline with the published keys, from the URL or a file.
    let (_, citizen_phone, citizen_password) = accounts.iter().find(|a| a.0 == "citizen").unwrap();
    let (_, session) = http(
        &server.addr,
        "POST",
        "/api/v1/sessions",
        Some(&format!("{{\"phone\":\"{citizen_phone}\",\"password\":\"{citizen_password}\"}}")),
    );
    let token = session.split("\"token\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (status, pass) = http_as(&server.addr, "POST", "/api/v1/passes", Some(""), Some(&token));
    assert_eq!(status, 201, "{pass}");
    let code = pass.split("\"code\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let keys_url = format!("http://{}/.well-known/vaora-keys.json", server.addr);
    let out = vaora().args(["pass", "verify", &code, "--keys", &keys_url]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let verdict = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(verdict.contains("\"valid\":true") && verdict.contains("\"pseudonym\":\""), "{verdict}");
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, http(&server.addr, "GET", "/.well-known/vaora-keys.json", None).1).unwrap();
    let mut forged = code.into_bytes();
    forged[40] = if forged[40] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let out = vaora().args(["pass", "verify", &forged, "--keys", keys_file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"valid\":false"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(server);
    // The chain of everything the demo wrote is intact; a second start does not load the demo again.
    let out = vaora().args(["--data-dir", dir.to_str().unwrap(), "audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"intact\":true"));
    let again = serve(&["--data-dir", dir.to_str().unwrap()], &["--demo"]);
    assert!(again.stdout_lines.iter().any(|l| l.contains("not empty")), "{:?}", again.stdout_lines);
    drop(again);
    // Without its key, a database with data is not opened (a new key would make the old data unreadable).
    std::fs::rename(dir.join("master.key"), dir.join("master.key.bak")).unwrap();
    let out = vaora().args(["--data-dir", dir.to_str().unwrap(), "audit", "verify"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("master.key is missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("master.key").exists());
    std::fs::rename(dir.join("master.key.bak"), dir.join("master.key")).unwrap();
    // Someone with write access to the file rewrites history: `audit verify` notices.
    let url = format!("sqlite://{}", dir.join("vaora.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_update").execute(&mut c).await.unwrap();
        sqlx::query("UPDATE audit_log SET action = 'nothing_happened' WHERE seq = 3").execute(&mut c).await.unwrap();
    });
    let out = vaora().args(["--data-dir", dir.to_str().unwrap(), "audit", "verify"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"broken_at\":3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_on_postgres() {
    let db = vaora_testkit::TestDb::postgres().await;
    let dir = temp_dir("pg");
    let url = db.url.clone();
    let server = tokio::task::spawn_blocking(move || {
        let s = serve(&["--data-dir", dir.to_str().unwrap(), "--database", &url], &[]);
        let health = http(&s.addr, "GET", "/healthz", None).0;
        let created = http(
            &s.addr,
            "POST",
            "/api/v1/accounts",
            Some(r#"{"phone":"0905111222","password":"song-huong-xanh-2021","full_name":"Tôn Nữ Hoa","birth_date":"1990-01-02","sex":"female","cccd":"046190123456","address":{"scheme":"current","unit_code":"19789","street":""}}"#),
        );
        drop(s);
        std::fs::remove_dir_all(dir).unwrap();
        (health, created)
    })
    .await
    .unwrap();
    assert_eq!(server.0, 200);
    assert_eq!(server.1.0, 201, "{}", server.1.1);
}

#[test]
fn config_example_is_a_valid_config_and_mistakes_are_named() {
    let dir = temp_dir("cfg");
    let example = vaora().args(["config", "example"]).output().unwrap();
    assert!(example.status.success());
    let path = dir.join("vaora.toml");
    let text = String::from_utf8(example.stdout).unwrap().replace("./vaora-data", dir.to_str().unwrap());
    std::fs::write(&path, text).unwrap();
    let out = vaora().args(["--config", path.to_str().unwrap(), "migrate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));

    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_port = 8\n").unwrap();
    let out = vaora().args(["--config", path.to_str().unwrap(), "migrate"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_port"), "{}", String::from_utf8_lossy(&out.stderr));

    let out =
        vaora().args(["--data-dir", dir.to_str().unwrap(), "migrate"]).env("VAORA_DATABSE", "x").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("VAORA_DATABSE"));

    let out = vaora().args(["--database", "mysql://x", "migrate"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("database:"));
    let key = vaora().args(["config", "key"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&key.stdout).trim().len(), 44, "32 bytes in base64");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_first_province_admin_is_created_once() {
    let dir = temp_dir("admin");
    let run = |phone: &str| {
        let mut child = vaora()
            .args(["--data-dir", dir.to_str().unwrap(), "admin", "create-province-admin", "--phone", phone])
            .args([
                "--full-name",
                "Phan Văn Khải",
                "--birth-date",
                "1978-08-08",
                "--sex",
                "male",
                "--cccd",
                "046078000123",
                "--ward",
                "19789",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"ngo-mon-dai-noi-1802\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let first = run("0905333444");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run("0905333445");
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("province_admin_exists"));
    std::fs::remove_dir_all(dir).unwrap();
}
