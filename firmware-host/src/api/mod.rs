//! The HTTP layer: every handler of podiumd lives under this module, and nothing outside it
//! (except the wiring in `daemon.rs`) knows of HTTP.
//!
//! Every route is declared once, in [`router`]'s table: its path and handler (with its
//! OpenAPI operation, through `utoipa_axum::routes!`, so the served description cannot
//! drift) together with its access rule. The guard (`access::guard`) reads the rule of the
//! matched route from that table, so a route cannot exist without a rule, nor a rule
//! without a route.
//!
//! | file | routes |
//! |---|---|
//! | `floor.rs` | state, precedence, commands |
//! | `events.rs` | the floor's event stream with resume |
//! | `health.rs` | `/healthz`, the API description, the MQTT link |
//! | `meetings.rs` | meetings, their record and minutes |
//! | `diagnostics.rs` | the technician's overview |
//! | `devices.rs` | desk units: health, lamp tests, simulated units |
//! | `room_devices.rs` | cameras, displays, switchers, microphones: health, tests |
//! | `room_sim.rs` | the demo's simulated room devices, button box and central units |
//! | `auth.rs` | login, logout, session, clock |
//! | `bridge.rs` | the video-conference bridge: its page, setup and report |
//! | `log.rs`, `monitor.rs`, `metrics.rs` | the log tail, the protocol monitor, `/metrics` |
//! | `pages.rs` | the console pages and their assets |
//!
//! Shared: `state.rs` (the one application state), `access/` (principal, roles, rules,
//! guard, sessions, secrets), `web.rs` (users, sessions and metrics of the consoles),
//! `sse.rs` (one way to forward a live feed to a client; the stream cap), `body.rs`, `error.rs`;
//! `server.rs` (the accept loop: header-read timeout, connection caps).

pub mod access;
pub mod agenda;
pub mod auth;
pub mod body;
pub mod bridge;
pub mod client_address;
pub mod cocon;
pub mod devices;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod floor;
pub mod health;
pub mod log;
pub mod meetings;
pub mod metrics;
pub mod monitor;
pub mod pages;
pub mod room_devices;
pub mod room_sim;
pub mod server;
pub mod sse;
pub mod state;
pub mod web;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, get};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use access::{Page, RouteRules, Rule};
use error::ApiError;
pub use state::{AppState, Parts};

#[derive(OpenApi)]
#[openapi(
    info(title = "Podium API", description = "One floor for a hybrid council meeting: state, commands and live events."),
    // The engine's rejection codes appear as `error` in 409 answers; list them for clients.
    components(schemas(podium_floor::Reason)),
    tags(
        (name = "floor", description = "The list of speakers, the open microphones and their timers"),
        (name = "system", description = "Health and API description"),
        (name = "meetings", description = "Meetings, their record and minutes (see README: Journal and recovery, Minutes export)"),
        (name = "devices", description = "Desk units: bus and unit health, lamp tests, simulated units (demo); room devices (cameras): health, director shots, test actions"),
        (name = "conference", description = "The video-conference bridge: its setup, what the conference must do, its report (see README: Jitsi Meet bridge)"),
        (name = "access", description = "Login, logout and the caller's role (see README: Web consoles and access)")
    )
)]
struct ApiDoc;

/// Routes being declared, each with its access rule.
struct RouteTable {
    router: OpenApiRouter<AppState>,
    rules: RouteRules,
}

impl RouteTable {
    /// An API route: handler and OpenAPI operation from `routes!`, and who may call it.
    fn api(mut self, rule: Rule, route: UtoipaMethodRouter<AppState>) -> Self {
        for (path, item) in &route.1.paths {
            let methods = METHODS.into_iter().filter(|m| operation(item, m).is_some()).collect();
            self.rules.declare(path, rule, methods);
        }
        self.router = self.router.routes(route);
        self
    }

    /// A console page or asset (GET only; not in the API description: they serve HTML).
    fn page(self, path: &'static str, rule: Rule, handler: MethodRouter<AppState>) -> Self {
        self.page_answering(path, rule, vec![Method::GET], handler)
    }

    /// A page route that answers more than GET (the personal link's confirmation POST).
    fn page_answering(
        mut self,
        path: &'static str,
        rule: Rule,
        methods: Vec<Method>,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.rules.declare(path, rule, methods);
        self.router = self.router.route(path, handler);
        self
    }
}

/// The methods the API's routes use.
const METHODS: [Method; 5] = [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH];

/// A path's operation for a method, if it has one.
fn operation<'a>(item: &'a PathItem, method: &Method) -> Option<&'a Operation> {
    let slot = match *method {
        Method::GET => &item.get,
        Method::PUT => &item.put,
        Method::POST => &item.post,
        Method::DELETE => &item.delete,
        Method::PATCH => &item.patch,
        _ => return None,
    };
    slot.as_ref()
}

/// Every route with its rule, and the API description.
fn table() -> (Router<AppState>, utoipa::openapi::OpenApi, RouteRules) {
    let table =
        RouteTable { router: OpenApiRouter::with_openapi(ApiDoc::openapi()), rules: RouteRules::default() }
            // The floor: read by any role (anyone if the display or overlay is public).
            .api(Rule::ReadFloor, routes!(floor::get_state))
            .api(Rule::ReadFloor, routes!(floor::get_precedence))
            .api(Rule::ReadFloor, routes!(events::get_events))
            // Commands: chair, technician, member (narrowed per command by `actor_for`).
            .api(Rule::Command, routes!(floor::post_command))
            // Anyone: health, the description, login and the caller's own session.
            .api(Rule::Public, routes!(health::get_healthz))
            .api(Rule::Public, routes!(health::get_openapi))
            .api(Rule::Public, routes!(auth::post_login))
            .api(Rule::Public, routes!(auth::post_logout))
            .api(Rule::Public, routes!(auth::get_session))
            .api(Rule::Public, routes!(auth::get_clock))
            // Devices (health, lamp and camera tests, the demo's simulators), the MQTT link,
            // diagnostics, meetings and their minutes: the chair and the technician. A lamp or
            // camera test is harmless, and the chair runs the room when no technician is there.
            .api(Rule::Staff, routes!(health::get_mqtt))
            .api(Rule::Staff, routes!(diagnostics::get_diagnostics))
            .api(Rule::Staff, routes!(meetings::get_meetings, meetings::post_meeting))
            .api(Rule::Staff, routes!(meetings::get_meeting))
            .api(Rule::Staff, routes!(meetings::post_close))
            .api(Rule::Staff, routes!(meetings::post_suspend))
            .api(Rule::Staff, routes!(meetings::post_resume))
            .api(Rule::Staff, routes!(agenda::get_draft, agenda::put_draft))
            // Reaching out to the council information system: the technician.
            .api(Rule::Technician, routes!(agenda::post_import))
            .api(Rule::Staff, routes!(meetings::get_minutes))
            .api(Rule::Staff, routes!(devices::get_devices))
            .api(Rule::Staff, routes!(devices::post_devices_test))
            .api(Rule::Staff, routes!(devices::get_sim_desks, devices::post_sim_desks))
            .api(Rule::Staff, routes!(room_devices::get_room_devices))
            .api(Rule::Staff, routes!(room_devices::post_room_test))
            .api(Rule::Staff, routes!(room_sim::get_sim_room))
            .api(Rule::Staff, routes!(room_sim::get_sim_gpio, room_sim::post_sim_gpio))
            .api(Rule::Staff, routes!(room_sim::post_sim_microphone))
            .api(Rule::Staff, routes!(room_sim::get_sim_central, room_sim::post_sim_central))
            // Frames on the wire are diagnostics, like the log: technicians only.
            .api(Rule::Bridge, routes!(bridge::get_setup))
            .api(Rule::Bridge, routes!(bridge::put_report))
            .api(Rule::Staff, routes!(bridge::get_bridges))
            .api(Rule::Technician, routes!(log::get_log))
            .api(Rule::Technician, routes!(monitor::get_monitor))
            .api(Rule::Metrics, routes!(health::get_metrics))
            // The consoles.
            .page("/", Rule::Public, get(pages::index))
            .page("/login", Rule::Public, get(pages::login_page))
            .page("/assets/{file}", Rule::Public, get(pages::asset))
            .page_answering(
                "/remote/{token}",
                Rule::Public,
                vec![Method::GET, Method::POST],
                get(pages::remote).post(pages::remote_confirm),
            )
            .page("/chair", Rule::Page(Page::Chair), get(pages::chair_page))
            .page("/tech", Rule::Page(Page::Tech), get(pages::tech_page))
            .page("/display", Rule::Page(Page::Display), get(pages::display_page))
            .page("/overlay", Rule::Page(Page::Overlay), get(pages::overlay_page))
            .page("/bridge/jitsi", Rule::Page(Page::Bridge), get(bridge::bridge_page));
    let (router, mut openapi) = table.router.split_for_parts();
    deny_unknown_fields_in_variants(&mut openapi, &["Command", "TestAction", "Shares"]);
    document_access_answers(&mut openapi, &table.rules);
    (router, openapi, table.rules)
}

/// Every route that needs credentials can answer 401 (none or bad) and 403 (a role that
/// may not), whatever its handler does: the guard answers before it. Documented from the
/// same rules the guard reads, so the description cannot miss one.
fn document_access_answers(openapi: &mut utoipa::openapi::OpenApi, rules: &RouteRules) {
    use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
    let error = || {
        ResponseBuilder::new().content(
            "application/json",
            utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        if matches!(rules.rule(path), Some(Rule::Public) | None) {
            continue;
        }
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        // The same five as METHODS: every operation a route can have.
        for operation in operations.into_iter().flatten() {
            let answers = &mut operation.responses.responses;
            answers
                .entry("401".into())
                .or_insert_with(|| RefOr::T(error().description("Login required (`unauthorized`)").build()));
            answers.entry("403".into()).or_insert_with(|| {
                RefOr::T(error().description("The caller's role may not (`forbidden`)").build())
            });
        }
    }
}

/// Request bodies refuse unknown fields (`#[serde(deny_unknown_fields)]`); utoipa says so
/// for structs but not for the variants of a tagged enum. Says it there too, so the
/// description and the server agree.
fn deny_unknown_fields_in_variants(openapi: &mut utoipa::openapi::OpenApi, enums: &[&str]) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(components) = openapi.components.as_mut() else { return };
    for name in enums {
        let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(*name) else {
            panic!("{name} is no longer a oneOf schema: update deny_unknown_fields_in_variants");
        };
        for variant in &mut one_of.items {
            if let RefOr::T(Schema::Object(object)) = variant {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// The OpenAPI description alone (for `podiumd openapi` and tests).
pub fn openapi() -> utoipa::openapi::OpenApi {
    table().1
}

/// Every route's path and rule, as declared (for tests and documentation).
pub fn route_rules() -> RouteRules {
    table().2
}

/// The complete router, ready to serve.
pub fn router(parts: Parts) -> Router {
    let (routes, openapi, rules) = table();
    let Parts { session, cancel, room_id, mqtt, web, desks, room, monitor, limits, print, oparl, bridge } =
        parts;
    let streams = sse::StreamCap::new(limits.max_streams_per_address, web.metrics.clone());
    let state = AppState {
        session,
        cancel,
        room_id,
        started: Instant::now(),
        openapi: Arc::new(openapi),
        rules: Arc::new(rules),
        mqtt,
        web,
        frames: Arc::default(),
        streams,
        print: Arc::new(print),
        oparl: Arc::new(oparl),
        bridge,
        desks,
        room,
        monitor,
    };
    routes
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed here",
            )
        })
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        // Inside the guard: valid credentials vouch for the peer's connections (server.rs).
        .layer(axum::middleware::from_fn(server::vouch_for_credentials))
        // Every route passes the access rules (api/access/guard.rs).
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard::guard))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route cannot exist without a rule nor a rule without a route: every operation of
    /// the API description has its path's rule and method declared, and the only declared
    /// paths outside the description are the console pages.
    #[test]
    fn every_route_has_a_rule_and_every_rule_a_route() {
        let (_, openapi, rules) = table();
        for (path, item) in &openapi.paths.paths {
            assert!(rules.rule(path).is_some(), "{path} is served without an access rule");
            if item.get.is_some() {
                assert!(rules.answers(path, &Method::GET), "GET {path}");
            }
            if item.post.is_some() {
                assert!(rules.answers(path, &Method::POST), "POST {path}");
            }
            assert!(!rules.answers(path, &Method::TRACE), "TRACE {path} is never routed");
        }
        let pages: Vec<&str> =
            rules.iter().map(|(path, ..)| path).filter(|p| !openapi.paths.paths.contains_key(*p)).collect();
        assert_eq!(
            pages,
            [
                "/",
                "/assets/{file}",
                "/bridge/jitsi",
                "/chair",
                "/display",
                "/login",
                "/overlay",
                "/remote/{token}",
                "/tech"
            ],
            "declared routes outside the API description"
        );
        for (path, rule, methods) in rules.iter() {
            assert!(!methods.is_empty(), "{path} ({rule:?}) has a rule but answers no method");
        }
    }

    #[test]
    fn every_route_that_needs_credentials_documents_401_and_403() {
        let (_, openapi, rules) = table();
        for (path, item) in &openapi.paths.paths {
            let public = rules.rule(path) == Some(Rule::Public);
            for operation in [&item.get, &item.post].into_iter().flatten() {
                let answers = &operation.responses.responses;
                for status in ["401", "403"] {
                    assert!(public || answers.contains_key(status), "{path} does not document {status}");
                }
            }
        }
    }

    #[test]
    fn diagnostics_need_the_right_role() {
        let rules = route_rules();
        assert_eq!(rules.rule("/api/v1/log"), Some(Rule::Technician));
        assert_eq!(rules.rule("/api/v1/monitor"), Some(Rule::Technician));
        assert_eq!(rules.rule("/api/v1/commands"), Some(Rule::Command));
        assert_eq!(rules.rule("/api/v1/meetings/{id}/minutes"), Some(Rule::Staff));
        assert_eq!(rules.rule("/api/v1/something/new"), None);
    }
}
