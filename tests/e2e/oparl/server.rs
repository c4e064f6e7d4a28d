//! A local OParl endpoint for the import tests and the benchmark: answers from a table of
//! path (with query) → reply, on a free port of 127.0.0.1. `{base}` in a JSON reply is the
//! server's own address, so fixtures can link to each other.

#![allow(dead_code)] // the test and the benchmark use different parts

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

/// What the server answers at a path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this JSON (`{base}` replaced in every string).
    Json(Value),
    /// 200 with these bytes, as given.
    Raw(String),
    /// This status with a short body.
    Status(u16),
    /// Never answers (the connection stays open).
    Hang,
}

pub struct Server {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
    /// Every path (with query) asked for, in order.
    pub asked: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Routes {
    replies: HashMap<String, Vec<u8>>,
    special: HashMap<String, Reply>,
    requests: Arc<AtomicUsize>,
    asked: Arc<Mutex<Vec<String>>>,
}

fn substitute(value: &mut Value, base: &str) {
    match value {
        Value::String(s) if s.contains("{base}") => *s = s.replace("{base}", base),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, base)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, base)),
        _ => {}
    }
}

async fn answer(State(routes): State<Arc<Routes>>, uri: Uri) -> Response {
    routes.requests.fetch_add(1, Ordering::Relaxed);
    let key = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    if let Ok(mut asked) = routes.asked.lock() {
        asked.push(key.clone());
    }
    let json = |bytes: Vec<u8>| {
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .unwrap_or_default()
    };
    if let Some(bytes) = routes.replies.get(&key) {
        return json(bytes.clone());
    }
    match routes.special.get(&key) {
        Some(Reply::Raw(text)) => json(text.clone().into_bytes()),
        Some(Reply::Status(code)) => Response::builder()
            .status(StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .body(Body::from("error"))
            .unwrap_or_default(),
        Some(Reply::Hang) => std::future::pending().await,
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found"))
            .unwrap_or_default(),
    }
}

impl Server {
    /// Starts the server with `routes(base)` (paths such as `/oparl/meeting/7`).
    pub async fn start(routes: impl FnOnce(&str) -> HashMap<String, Reply>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mut replies = HashMap::new();
        let mut special = HashMap::new();
        for (path, reply) in routes(&base) {
            match reply {
                Reply::Json(mut value) => {
                    substitute(&mut value, &base);
                    replies.insert(path, serde_json::to_vec(&value).expect("json"));
                }
                other => {
                    special.insert(path, other);
                }
            }
        }
        let requests = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Routes { replies, special, requests: requests.clone(), asked: asked.clone() });
        let app = axum::Router::new().fallback(answer).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server { base, requests, asked, task }
    }

    /// Whether `path` was asked for.
    pub fn was_asked(&self, path: &str) -> bool {
        self.asked.lock().is_ok_and(|a| a.iter().any(|p| p == path))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// `https://schema.oparl.org/1.1/<kind>`.
pub fn t(kind: &str) -> String {
    format!("https://schema.oparl.org/1.1/{kind}")
}

/// A list split into pages of `per_page` at `path?page=N` (page 1 is `path` itself),
/// linked by `links.next`, with pagination counts and a vendor field on every page.
pub fn paged(path: &str, items: Vec<Value>, per_page: usize) -> Vec<(String, Reply)> {
    let pages: Vec<Vec<Value>> = items.chunks(per_page.max(1)).map(<[Value]>::to_vec).collect();
    let total_pages = pages.len().max(1);
    let page_path = |n: usize| if n == 1 { path.to_owned() } else { format!("{path}?page={n}") };
    let mut out = Vec::new();
    let total = items.len();
    for (i, data) in pages.into_iter().enumerate() {
        let n = i + 1;
        let mut links =
            json!({"first": format!("{{base}}{path}"), "self": format!("{{base}}{}", page_path(n))});
        if n < total_pages {
            links["next"] = json!(format!("{{base}}{}", page_path(n + 1)));
        }
        out.push((
            page_path(n),
            Reply::Json(json!({
                "data": data,
                "pagination": {"totalElements": total, "elementsPerPage": per_page, "currentPage": n, "totalPages": total_pages},
                "links": links,
                "x-vendor-cache": {"hit": false}
            })),
        ));
    }
    if out.is_empty() {
        out.push((path.to_owned(), Reply::Json(json!({"data": [], "links": {}}))));
    }
    out
}

/// A council: the system, one body, a meeting (`/oparl/meeting/7`) with `items`, its
/// organization with `members` memberships (plus `others` of another organization in
/// the body's list), paginated `per_page`.
pub struct Council {
    pub items: Vec<Value>,
    pub members: usize,
    pub per_page: usize,
}

impl Council {
    pub fn routes(&self) -> HashMap<String, Reply> {
        let mut r: HashMap<String, Reply> = HashMap::new();
        r.insert(
            "/oparl/system".into(),
            Reply::Json(json!({
                "id": "{base}/oparl/system", "type": "https://schema.oparl.org/1.1/System",
                "oparlVersion": "https://schema.oparl.org/1.1/", "body": "{base}/oparl/bodies",
                "vendor": "Beispiel-RIS", "product": "x"
            })),
        );
        let body = json!({
            "id": "{base}/oparl/body/1", "type": t("Body"), "name": "Stadt Beispiel",
            "organization": "{base}/oparl/body/1/organizations",
            "person": "{base}/oparl/body/1/persons",
            "meeting": "{base}/oparl/body/1/meetings",
            "membership": "{base}/oparl/body/1/memberships",
            "legislativeTerm": [], "sessionNet:extra": {"a": 1}
        });
        r.extend(paged("/oparl/bodies", vec![body.clone()], 100));
        r.insert("/oparl/body/1".into(), Reply::Json(body));
        let other_meetings: Vec<Value> = (1..=6)
            .map(|n| json!({"id": format!("{{base}}/oparl/meeting/{n}"), "type": t("Meeting"), "name": format!("Sitzung {n}")}))
            .collect();
        r.extend(paged(
            "/oparl/body/1/meetings",
            other_meetings
                .into_iter()
                .chain([json!({"id": "{base}/oparl/meeting/7", "type": t("Meeting")})])
                .collect(),
            4,
        ));
        r.insert(
            "/oparl/meeting/7".into(),
            Reply::Json(json!({
                "id": "{base}/oparl/meeting/7", "type": t("Meeting"),
                "name": "12. Sitzung des Rates", "start": "2026-12-10T17:00:00+01:00", "end": "2026-12-10T21:00:00+01:00",
                "meetingState": "eingeladen",
                "location": {"id": "{base}/oparl/location/1", "type": t("Location"), "description": "Ratssaal, Markt 1", "geojson": null},
                "organization": ["{base}/oparl/organization/3"],
                "agendaItem": self.items,
                "x-ris-internal": {"pdf": "x"}
            })),
        );
        let membership_ids: Vec<Value> =
            (1..=self.members).map(|n| json!(format!("{{base}}/oparl/membership/{n}"))).collect();
        r.insert(
            "/oparl/organization/3".into(),
            Reply::Json(json!({
                "id": "{base}/oparl/organization/3", "type": t("Organization"), "body": "{base}/oparl/body/1",
                "name": "Rat der Stadt Beispiel", "shortName": "Rat", "classification": "Parlament",
                "membership": membership_ids, "meeting": "{base}/oparl/organization/3/meetings"
            })),
        );
        let mut memberships: Vec<Value> = (1..=self.members)
            .map(|n| {
                json!({
                    "id": format!("{{base}}/oparl/membership/{n}"), "type": t("Membership"),
                    "person": format!("{{base}}/oparl/person/{n}"), "organization": "{base}/oparl/organization/3",
                    "role": if n == 1 { "Vorsitzender" } else { "Mitglied" },
                    "votingRight": n % 10 != 0, "startDate": "2024-06-01",
                    "x-vendor-flag": n
                })
            })
            .collect();
        // A membership of another organization, interleaved.
        memberships.insert(2, json!({
            "id": "{base}/oparl/membership/9001", "type": t("Membership"),
            "person": "{base}/oparl/person/9001", "organization": "{base}/oparl/organization/99", "votingRight": true
        }));
        for m in &memberships {
            let path = m["id"].as_str().unwrap_or_default().replace("{base}", "");
            r.insert(path, Reply::Json(m.clone()));
        }
        r.extend(paged("/oparl/body/1/memberships", memberships, self.per_page));
        let persons: Vec<Value> = (1..=self.members)
            .map(|n| json!({
                "id": format!("{{base}}/oparl/person/{n}"), "type": t("Person"),
                "name": format!("Person {n}"), "familyName": format!("Nachname{n}"), "givenName": "Vorname",
                "x-portrait": null
            }))
            .chain([json!({"id": "{base}/oparl/person/9001", "type": t("Person"), "name": "Andere Person"})])
            .collect();
        for p in &persons {
            let path = p["id"].as_str().unwrap_or_default().replace("{base}", "");
            r.insert(path, Reply::Json(p.clone()));
        }
        r.extend(paged("/oparl/body/1/persons", persons, self.per_page));
        r
    }
}

/// An agenda item of the meeting.
pub fn item(n: usize, number: Option<&str>, name: &str, public: Option<bool>) -> Value {
    let mut v = json!({
        "id": format!("{{base}}/oparl/agendaitem/{n}"), "type": t("AgendaItem"),
        "name": name, "order": n, "x-sitzungsdienst": {"top": n}
    });
    if let Some(number) = number {
        v["number"] = json!(number);
    }
    if let Some(public) = public {
        v["public"] = json!(public);
    }
    v
}
