//! Reading an OParl endpoint over HTTP(S): one object per URL, lists page by page along
//! `links.next`, with a timeout per request and for the whole import, a size cap per
//! answer, a page cap per list and a refusal of any page URL seen before (a loop).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde::de::DeserializeOwned;

use super::map::{Collected, SourcedItem, check_type, refuse_meeting};
use super::model::{self, HasId, Kind, Page, Ref, Typed};
use super::{ObjectError, OparlSettings};

/// `$.a[3].b` from serde_path_to_error's `a[3].b` (`.` = the root).
pub(crate) fn json_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." {
        "$".to_owned()
    } else if p.starts_with('[') {
        format!("${p}")
    } else {
        format!("$.{p}")
    }
}

/// Parses `bytes` as `T`; errors name `url` and the JSON path.
pub(crate) fn parse<T: DeserializeOwned>(url: &str, bytes: &[u8]) -> Result<T, ObjectError> {
    // A byte-order mark is not allowed by OParl, but some servers and editors write one.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    // The plain parse is several times faster; the path is only needed for an error.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = json_path(e.path());
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("not valid JSON: {inner}")
        } else {
            inner.to_string()
        };
        ObjectError::new(url, Some(path), message)
    })?;
    Ok(value)
}

/// Just the `type` of whatever is at a URL.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
}

/// The HTTP side of the import.
pub(crate) struct Client {
    http: reqwest::Client,
    max_body: usize,
    max_pages: usize,
    concurrency: usize,
}

/// TLS for HTTPS endpoints: rustls on ring with the system's CA certificates, read once
/// per process (reading and decoding them took longer than parsing a large import).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!(
                    "OParl import: no CA certificates found on this system; HTTPS endpoints will fail"
                );
            }
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
                .map_err(|e| e.to_string())
        })
        .clone()
}

impl Client {
    pub(crate) fn new(settings: &OparlSettings) -> Result<Self, ObjectError> {
        let tls =
            tls_config().map_err(|e| ObjectError::new("(client)", None, format!("TLS setup failed: {e}")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .user_agent(concat!("podiumd/", env!("CARGO_PKG_VERSION"), " (OParl import)"))
            .build()
            .map_err(|e| ObjectError::new("(client)", None, format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            max_body: settings.max_body_bytes,
            max_pages: settings.max_pages.max(1),
            concurrency: settings.concurrency.max(1),
        })
    }

    /// The body at `url`: a 2xx answer of at most `max_body` bytes.
    pub(crate) async fn body(&self, url: &str) -> Result<Vec<u8>, ObjectError> {
        let err = |m: String| ObjectError::new(url, None, m);
        let parsed = reqwest::Url::parse(url).map_err(|e| err(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(err(format!("only http and https URLs are read, not {}:", parsed.scheme())));
        }
        let mut response =
            self.http.get(parsed).header("Accept", "application/json").send().await.map_err(|e| {
                if e.is_timeout() {
                    err("no answer in time (request timeout)".into())
                } else if e.is_connect() {
                    err(format!("cannot connect: {}", source_chain(&e)))
                } else {
                    err(format!("request failed: {}", source_chain(&e)))
                }
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(err(format!("HTTP {status}")));
        }
        if response.content_length().is_some_and(|n| n > self.max_body as u64) {
            return Err(err(format!("answer larger than {} bytes", self.max_body)));
        }
        let expected = response.content_length().map_or(0, |n| usize::try_from(n).unwrap_or(0));
        let mut body = Vec::with_capacity(expected.min(self.max_body));
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                err("answer not complete in time (request timeout)".into())
            } else {
                err(format!("reading the answer failed: {}", source_chain(&e)))
            }
        })? {
            if body.len() + chunk.len() > self.max_body {
                return Err(err(format!("answer larger than {} bytes", self.max_body)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The object of `kind` at `url`, its `type` checked.
    pub(crate) async fn object<T: DeserializeOwned + Typed>(
        &self,
        url: &str,
        kind: Kind,
    ) -> Result<T, ObjectError> {
        let bytes = self.body(url).await?;
        let object: T = parse(url, &bytes)?;
        check_type(&object, kind, url, "$")?;
        Ok(object)
    }

    /// Every object of a list, following `links.next`; deleted ones are left out.
    pub(crate) async fn list<T: DeserializeOwned + Typed>(
        &self,
        url: &str,
        kind: Kind,
    ) -> Result<Vec<T>, ObjectError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        let mut next = Some(url.to_owned());
        while let Some(page_url) = next.take() {
            if !seen.insert(page_url.clone()) {
                return Err(ObjectError::new(
                    &page_url,
                    None,
                    format!("the list {url} leads back to this page (links.next loop)"),
                ));
            }
            if seen.len() > self.max_pages {
                return Err(ObjectError::new(
                    &page_url,
                    None,
                    format!("the list {url} has more than {} pages", self.max_pages),
                ));
            }
            let bytes = self.body(&page_url).await?;
            let page: Page<T> = parse(&page_url, &bytes)?;
            for (i, object) in page.data.into_iter().enumerate() {
                check_type(&object, kind, &page_url, &format!("$.data[{i}]"))?;
                if !object.is_deleted() {
                    out.push(object);
                }
            }
            // `next` must be a full URL; a relative one (seen in the wild) is read against the page.
            next = page.links.and_then(|l| l.next).filter(|n| !n.trim().is_empty()).map(|n| {
                reqwest::Url::parse(&page_url)
                    .and_then(|base| base.join(n.trim()))
                    .map_or(n, |joined| joined.to_string())
            });
        }
        Ok(out)
    }

    /// Objects fetched one by one, `concurrency` at a time, in the order of `urls`.
    async fn each<T: DeserializeOwned + Typed>(
        &self,
        urls: Vec<String>,
        kind: Kind,
    ) -> Vec<(String, Result<T, ObjectError>)> {
        stream::iter(urls)
            .map(|url| async move {
                let result = self.object::<T>(&url, kind).await;
                (url, result)
            })
            .buffered(self.concurrency)
            .collect()
            .await
    }
}

/// The error and its causes ("error sending request: connection refused").
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// Reads the meeting and what it refers to from an endpoint, within the total timeout.
pub(crate) async fn collect(
    url: &str,
    meeting: Option<&str>,
    settings: &OparlSettings,
) -> Result<Collected, Vec<ObjectError>> {
    let client = Client::new(settings).map_err(|e| vec![e])?;
    match tokio::time::timeout(settings.total_timeout, collect_with(&client, url, meeting, settings)).await {
        Ok(result) => result,
        Err(_) => Err(vec![ObjectError::new(
            url,
            None,
            format!("the import took longer than {} (total timeout)", secs(settings.total_timeout)),
        )]),
    }
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

async fn collect_with(
    client: &Client,
    url: &str,
    meeting_arg: Option<&str>,
    settings: &OparlSettings,
) -> Result<Collected, Vec<ObjectError>> {
    let bytes = client.body(url).await.map_err(|e| vec![e])?;
    let probe: Probe = parse(url, &bytes).map_err(|e| vec![e])?;
    let type_url = probe.kind.as_ref().and_then(|t| t.as_str()).unwrap_or("");
    let mut warnings = Vec::new();
    let (meeting_url, meeting_bytes) = if model::type_version(type_url, Kind::Meeting).is_some() {
        if let Some(m) = meeting_arg {
            warnings.push(format!("{url} is a Meeting; the meeting argument {m:?} was not used"));
        }
        (url.to_owned(), bytes)
    } else if model::type_version(type_url, Kind::System).is_some() {
        let system: model::System = parse(url, &bytes).map_err(|e| vec![e])?;
        let Some(wanted) = meeting_arg else {
            return Err(vec![ObjectError::new(
                url,
                None,
                "this is a System: name the meeting too (its URL, or the last part of its URL)",
            )]);
        };
        let meeting_url = if wanted.starts_with("http://") || wanted.starts_with("https://") {
            wanted.to_owned()
        } else {
            find_meeting(client, url, &system, wanted).await.map_err(|e| vec![e])?
        };
        let bytes = client.body(&meeting_url).await.map_err(|e| vec![e])?;
        (meeting_url, bytes)
    } else {
        let found = probe.kind.map_or_else(|| "no type".to_owned(), |t| t.to_string());
        return Err(vec![ObjectError::new(
            url,
            Some("$.type".into()),
            format!("expected a Meeting or a System (https://schema.oparl.org/1.1/Meeting), found {found}"),
        )]);
    };
    let meeting: model::Meeting = parse(&meeting_url, &meeting_bytes).map_err(|e| vec![e])?;
    check_type(&meeting, Kind::Meeting, &meeting_url, "$").map_err(|e| vec![e])?;
    let refused = refuse_meeting(&meeting, &meeting_url);
    if !refused.is_empty() {
        return Err(refused);
    }

    let mut errors = Vec::new();
    let mut c = Collected { meeting_url: meeting_url.clone(), warnings, ..Default::default() };

    // Agenda items: embedded (1.0 final, 1.1) or, from some servers, URLs.
    let refs = meeting.agenda_item.clone().unwrap_or_default();
    let to_fetch: Vec<String> =
        refs.iter().filter_map(|r| if let Ref::Url(u) = r { Some(u.clone()) } else { None }).collect();
    let mut fetched: HashMap<String, Result<model::AgendaItem, ObjectError>> =
        client.each(to_fetch, Kind::AgendaItem).await.into_iter().collect();
    for (i, r) in refs.into_iter().enumerate() {
        match r {
            Ref::Embedded(item) => c.items.push(SourcedItem {
                item: *item,
                url: meeting_url.clone(),
                path: format!("$.agendaItem[{i}]"),
            }),
            Ref::Url(u) => match fetched.remove(&u) {
                Some(Ok(item)) => c.items.push(SourcedItem { item, url: u, path: "$".into() }),
                Some(Err(e)) => errors.push(e),
                None => errors.push(ObjectError::new(
                    &meeting_url,
                    Some(format!("$.agendaItem[{i}]")),
                    format!("agenda item {u} listed twice"),
                )),
            },
        }
    }

    // Consultations and papers: optional; a failure is a warning.
    let consultation_urls: Vec<String> =
        unique(c.items.iter().filter(|s| !s.item.is_deleted()).filter_map(|s| match &s.item.consultation {
            Some(Ref::Url(u)) => Some(u.clone()),
            _ => None,
        }));
    for (u, result) in client.each::<model::Consultation>(consultation_urls, Kind::Consultation).await {
        match result {
            Ok(con) => {
                c.consultations.insert(u, con);
            }
            Err(e) => c.warnings.push(format!("consultation not read, the item shows no paper: {e}")),
        }
    }
    let paper_urls = unique(
        c.items
            .iter()
            .filter_map(|s| match &s.item.consultation {
                Some(Ref::Embedded(con)) => con.paper.as_ref(),
                Some(Ref::Url(u)) => c.consultations.get(u).and_then(|con| con.paper.as_ref()),
                None => None,
            })
            .filter_map(|p| if let Ref::Url(u) = p { Some(u.clone()) } else { None }),
    );
    for (u, result) in client.each::<model::Paper>(paper_urls, Kind::Paper).await {
        match result {
            Ok(p) => {
                c.papers.insert(u, p);
            }
            Err(e) => c.warnings.push(format!("paper not read, the item shows no paper: {e}")),
        }
    }

    // The organization (the first is the lead committee) and its members.
    let first = meeting.organization.as_ref().and_then(|o| o.first()).cloned();
    let organization = match first {
        None => {
            c.warnings.push(format!("{meeting_url}: the meeting names no organization; no members to match"));
            None
        }
        Some(Ref::Embedded(o)) => {
            if let Err(e) = check_type(o.as_ref(), Kind::Organization, &meeting_url, "$.organization[0]") {
                errors.push(e);
            }
            Some(*o)
        }
        Some(Ref::Url(u)) => match client.object::<model::Organization>(&u, Kind::Organization).await {
            Ok(o) => Some(o),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    if let Some(org) = &organization
        && let Err(mut e) = members_of(client, org, settings, &mut c).await
    {
        errors.append(&mut e);
    }
    c.organization = organization;
    c.meeting = meeting;
    if errors.is_empty() { Ok(c) } else { Err(errors) }
}

fn unique(urls: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    urls.filter(|u| seen.insert(u.clone())).collect()
}

/// The organization's memberships and their persons, into `c`.
async fn members_of(
    client: &Client,
    org: &model::Organization,
    settings: &OparlSettings,
    c: &mut Collected,
) -> Result<(), Vec<ObjectError>> {
    let mut errors = Vec::new();
    let refs = org.membership.clone().unwrap_or_default();
    let urls: Vec<String> =
        refs.iter().filter_map(|r| if let Ref::Url(u) = r { Some(u.clone()) } else { None }).collect();
    c.memberships
        .extend(refs.into_iter().filter_map(|r| if let Ref::Embedded(m) = r { Some(*m) } else { None }));

    // The body's lists serve large organizations; small ones are fetched object by object.
    let body = match &org.body {
        Some(b) if urls.len() > settings.list_threshold => {
            match client.object::<model::Body>(b, Kind::Body).await {
                Ok(body) => Some(body),
                Err(e) => return Err(vec![e]),
            }
        }
        _ => None,
    };
    if let Some(list) = body.as_ref().and_then(|b| b.membership.clone()) {
        let wanted: HashSet<&str> = urls.iter().map(String::as_str).collect();
        match client.list::<model::Membership>(&list, Kind::Membership).await {
            Ok(all) => {
                let mut found = HashSet::new();
                for m in all {
                    let ours = m.id.as_deref().is_some_and(|id| wanted.contains(id))
                        || (m.organization.is_some() && m.organization == org.id);
                    if ours {
                        if let Some(id) = &m.id {
                            found.insert(id.clone());
                        }
                        c.memberships.push(m);
                    }
                }
                // Listed by the organization but not in the body's list: fetch them.
                let rest: Vec<String> = urls.iter().filter(|u| !found.contains(*u)).cloned().collect();
                fetch_memberships(client, rest, c, &mut errors).await;
            }
            Err(e) => {
                errors.push(e);
                return Err(errors);
            }
        }
    } else {
        fetch_memberships(client, urls, c, &mut errors).await;
    }

    // Persons: embedded in the memberships, from the body's list, or one by one.
    let needed: Vec<String> = unique(c.memberships.iter().filter_map(|m| match &m.person {
        Some(Ref::Url(u)) => Some(u.clone()),
        _ => None,
    }));
    let mut rest = needed.clone();
    if needed.len() > settings.list_threshold {
        let body = match (body, &org.body) {
            (Some(b), _) => Some(b),
            (None, Some(b)) => match client.object::<model::Body>(b, Kind::Body).await {
                Ok(body) => Some(body),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            (None, None) => None,
        };
        if let Some(list) = body.and_then(|b| b.person) {
            let wanted: HashSet<&str> = needed.iter().map(String::as_str).collect();
            match client.list::<model::Person>(&list, Kind::Person).await {
                Ok(all) => {
                    for p in all {
                        if let Some(id) = p.id.clone().filter(|id| wanted.contains(id.as_str())) {
                            c.persons.insert(id, p);
                        }
                    }
                }
                Err(e) => {
                    // Not one request per person after the list failed: the list's error says it.
                    errors.push(e);
                    rest.clear();
                }
            }
            rest.retain(|u| !c.persons.contains_key(u));
        }
    }
    for (u, result) in client.each::<model::Person>(rest, Kind::Person).await {
        match result {
            Ok(p) => {
                c.persons.insert(u, p);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

async fn fetch_memberships(
    client: &Client,
    urls: Vec<String>,
    c: &mut Collected,
    errors: &mut Vec<ObjectError>,
) {
    for (_, result) in client.each::<model::Membership>(urls, Kind::Membership).await {
        match result {
            Ok(m) => c.memberships.push(m),
            Err(e) => errors.push(e),
        }
    }
}

/// The URL of the meeting whose id ends in `/<wanted>`, from the system's bodies' meeting lists.
async fn find_meeting(
    client: &Client,
    url: &str,
    system: &model::System,
    wanted: &str,
) -> Result<String, ObjectError> {
    let Some(bodies) = &system.body else {
        return Err(ObjectError::new(url, Some("$.body".into()), "the System lists no bodies"));
    };
    let wanted = wanted.trim().trim_matches('/');
    for body in client.list::<model::Body>(bodies, Kind::Body).await? {
        let Some(meetings) = &body.meeting else { continue };
        for m in client.list::<model::Meeting>(meetings, Kind::Meeting).await? {
            if let Some(id) = m.id()
                && (id == wanted || id.trim_end_matches('/').rsplit('/').next() == Some(wanted))
            {
                return Ok(id.to_owned());
            }
        }
    }
    Err(ObjectError::new(url, None, format!("no meeting with id {wanted:?} in the bodies' meeting lists")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_url_and_a_json_path() {
        let e = parse::<model::Meeting>("u", br#"{"agendaItem":[{},{"public":"ja"}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "u: $.agendaItem[1].public: invalid type: string \"ja\", expected a boolean at line 1 column 32"
        );
        let e = parse::<Vec<model::Person>>("f", br#"[{"name":"a"},{"name":1}]"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$[1].name"));
        let e = parse::<model::Meeting>("u", b"<html>").unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$"));
        assert!(e.message.starts_with("not valid JSON"), "{e}");
    }

    #[test]
    fn the_client_builds_with_the_system_certificates_more_than_once() {
        assert!(Client::new(&OparlSettings::default()).is_ok());
        assert!(Client::new(&OparlSettings::default()).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        let m = parse::<model::Meeting>("u", b"\xef\xbb\xbf{\"name\":\"Rat\"}").unwrap();
        assert_eq!(m.name.as_deref(), Some("Rat"));
    }
}
