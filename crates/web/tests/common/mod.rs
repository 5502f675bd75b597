//! `TestApp`: the real router over a fresh database per test, driven like a client would, with
//! a clock the test controls.

#![allow(dead_code, missing_debug_implementations, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vaora_app::{App, ManualClock, PasswordHashing, Secrets, Settings};
use vaora_domain::Timestamp;
use vaora_testkit::TestDb;

/// 2026-11-27 09:00 in Vietnam.
pub const START: Timestamp = Timestamp(1_795_744_800_000);

pub struct TestApp {
    pub router: Router,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A unique, valid person for registration tests.
pub fn person(n: u32) -> Value {
    json!({
        "phone": format!("09{:08}", 12_000_000 + n),
        "password": "cau-truong-tien-6-vai",
        "full_name": "Nguyễn Văn An",
        "birth_date": "1985-03-02",
        "sex": "male",
        "cccd": format!("046085{:06}", n),
        "address": {"scheme": "current", "unit_code": "19789", "street": "2 Lê Lợi"}
    })
}

impl TestApp {
    pub async fn spawn(engine: &str) -> Self {
        let db = TestDb::named(engine).await;
        let clock = Arc::new(ManualClock::new(START));
        let app = App::new(
            db.store.clone(),
            clock.clone(),
            Secrets::from_master_key([42; 32]),
            PasswordHashing::insecure_fast(),
            Settings::default(),
        );
        let web =
            vaora_web::WebSettings { public_base_url: "http://127.0.0.1:8080".into(), trust_forwarded_for: false };
        let router = vaora_web::router(app.clone(), web);
        Self { router, app, clock, db }
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body, text, raw: bytes.to_vec() }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn register(&self, body: Value) -> i64 {
        let a = self.post("/api/v1/accounts", None, body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body["id"].as_i64().unwrap()
    }

    pub async fn sign_in(&self, phone: &str, password: &str) -> String {
        let a = self.post("/api/v1/sessions", None, json!({"phone": phone, "password": password})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Registers person `n` and signs them in.
    pub async fn citizen(&self, n: u32) -> (i64, String) {
        let p = person(n);
        let id = self.register(p.clone()).await;
        let token = self.sign_in(p["phone"].as_str().unwrap(), "cau-truong-tien-6-vai").await;
        (id, token)
    }

    /// Files a health declaration with nothing to report (no symptom, no contact) for the
    /// signed-in person: their status turns green for the declaration's validity.
    pub async fn declare_well(&self, token: &str) {
        let r = self.post("/api/v1/declarations", Some(token), json!({})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    /// The first province administrator, signed in.
    pub async fn province_admin(&self) -> (i64, String) {
        let p = person(900);
        let r = vaora_app::accounts::Registration {
            phone: p["phone"].as_str().unwrap().into(),
            password: "cau-truong-tien-6-vai".into(),
            full_name: "Lê Thị Hoa".into(),
            birth_date: "1985-03-02".into(),
            sex: "female".into(),
            cccd: Some("046185000900".into()),
            cmnd: None,
            address_scheme: "current".into(),
            address_unit: "19789".into(),
            address_street: String::new(),
        };
        let id = self.app.create_first_province_admin(r).await.unwrap();
        (id.0, self.sign_in(p["phone"].as_str().unwrap(), "cau-truong-tien-6-vai").await)
    }

    /// An agency created by the province admin, with an agency admin (person `n`) signed in.
    pub async fn agency_with_admin(&self, admin_token: &str, code: &str, n: u32) -> (i64, i64, String) {
        let a = self
            .post(
                "/api/v1/agencies",
                Some(admin_token),
                json!({"name": format!("Sở {code}"), "code": code, "address": {"scheme": "current", "unit_code": "19789", "street": "100 Hàm Nghi"}}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let agency = a.body["id"].as_i64().unwrap();
        let (user, token) = self.citizen(n).await;
        let g = self
            .post(
                &format!("/api/v1/people/{user}/grants"),
                Some(admin_token),
                json!({"role": "agency_admin", "agency_id": agency}),
            )
            .await;
        assert_eq!(g.status, StatusCode::NO_CONTENT, "{}", g.text);
        (agency, user, token)
    }
}

/// Runs each listed flow against both engines: `mod sqlite { … }` and `mod postgres { … }`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::TestApp::spawn("sqlite").await).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::common::TestApp::spawn("postgres").await).await })*
        }
    };
}

/// An agency with a gate and a checker assigned to it: the province admin's, the office's and the
/// checker's tokens, and the ids.
pub struct Site {
    pub admin: String,
    pub office: String,
    pub agency: i64,
    pub gate: i64,
    pub checker: String,
}

/// Builds a [`Site`]: agency `SGTVT` run by person 100, gate `Cổng chính`, checker person 101.
pub async fn site(t: &TestApp) -> Site {
    let (_, admin) = t.province_admin().await;
    let (agency, _, office) = t.agency_with_admin(&admin, "SGTVT", 100).await;
    let gate = t
        .post(
            &format!("/api/v1/agencies/{agency}/checkpoints"),
            Some(&office),
            json!({"name": "Cổng chính", "mode": "entry", "default_stay_minutes": 480}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    t.citizen(101).await;
    let r =
        t.post(&format!("/api/v1/checkpoints/{gate}/checkers"), Some(&office), json!({"phone": "0912000101"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let checker = t.sign_in("0912000101", "cau-truong-tien-6-vai").await;
    Site { admin, office, agency, gate, checker }
}

/// Signs person `phone` in as a browser does and returns the `Cookie` header value.
pub async fn web_cookie(t: &TestApp, phone: &str) -> String {
    let a = t
        .post("/api/v1/sessions", None, json!({"phone": phone, "password": "cau-truong-tien-6-vai", "kind": "web"}))
        .await;
    a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}
