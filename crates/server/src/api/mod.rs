//! The `/api/v1` routes, their extractors and the OpenAPI document generated from them.
//!
//! Write endpoints take [`ApiJson`], which refuses unknown fields (the body types say
//! `deny_unknown_fields`) and answers every malformed body with the JSON error document.

pub mod events;
pub mod ingest;
pub mod inventory;
pub mod page;
pub mod publication;
pub mod types;
pub mod work_orders;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::{FromRequest, FromRequestParts};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A JSON body; rejections become [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; rejections become [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; rejections become [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// An identifier (part, asset, scan …) in a path, query or body: documented with the pattern of
/// [`cmms_core::ids::check_identifier`], the rule the handlers apply (400 `INVALID_ID` otherwise).
pub struct Identifier;

impl utoipa::PartialSchema for Identifier {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(cmms_core::ids::ID_PATTERN))
            .description(Some("An identifier: 1–64 characters of `A–Z a–z 0–9 . _ -`, not only dots."))
            .build()
            .into()
    }
}

impl utoipa::ToSchema for Identifier {}

/// A string schema that allows only `names` (the server's enumerations kept in the core).
pub(crate) fn names_schema(names: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).description(Some(description)).build()
}

/// Now, in epoch milliseconds (the shell's clock; the core never reads it).
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("cmms_…").build()),
        );
    }
}

/// Adds the 503 answer of load shedding (see [`crate::ServeOptions::max_in_flight`]) to every
/// operation: any request may be refused that way.
struct Overload;

impl Modify for Overload {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response = utoipa::openapi::ResponseBuilder::new()
            .description(
                "Overloaded (too many requests in flight, or the database busy): nothing was applied; \
                 retry after the `Retry-After` seconds",
            )
            .header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                op.responses.responses.insert("503".to_owned(), response.clone().into());
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cmms-pipeline API",
        description = "Ingestion webhooks, the threshold endpoint, work orders, procurement, alerts, quarantine, \
                       corrections (voided events) and the dead-letter queue. Every route needs \
                       `Authorization: Bearer <token>` with the scope it names (`cmms token create --scope …`); \
                       errors are `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// The API routes and the OpenAPI document describing them.
pub fn routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest::ingest_feed))
        .routes(routes!(inventory::put_thresholds))
        .routes(routes!(inventory::approve_thresholds))
        .routes(routes!(inventory::list_parts))
        .routes(routes!(inventory::threshold_history))
        .routes(routes!(inventory::latest_backtest))
        .routes(routes!(inventory::list_alerts))
        .routes(routes!(inventory::list_quarantine))
        .routes(routes!(inventory::resolve_quarantine))
        .routes(routes!(inventory::accept_scan))
        .routes(routes!(inventory::accept_held_snapshot))
        .routes(routes!(inventory::list_procurement_requests))
        .routes(routes!(inventory::list_dead_letters))
        .routes(routes!(inventory::replay_dead_letter))
        .routes(routes!(publication::show_dead_letter))
        .routes(routes!(publication::replay_dead_letters))
        .routes(routes!(work_orders::list_work_orders))
        .routes(routes!(work_orders::transition_work_order))
        .routes(routes!(work_orders::complete_work_order))
        .routes(routes!(work_orders::correct_completion))
        .routes(routes!(work_orders::pm_schedule))
        .routes(routes!(events::void_event))
        .routes(routes!(events::restore_event))
        .routes(routes!(events::list_voids))
        .split_for_parts();
    let mut doc = doc;
    Overload.modify(&mut doc);
    (router, doc)
}

#[cfg(test)]
mod tests {
    /// The OpenAPI document is committed (`docs/openapi.json`) so client authors can read it and
    /// API changes show in review. `CMMS_UPDATE_OPENAPI=1 cargo test -p cmms-server` rewrites it.
    #[test]
    fn committed_openapi_document_is_current() {
        let (_, doc) = super::routes();
        let current = doc.to_pretty_json().expect("serialisable") + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        if std::env::var("CMMS_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &current).expect("write docs/openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "docs/openapi.json is out of date: run `CMMS_UPDATE_OPENAPI=1 cargo test -p cmms-server --lib`"
        );
    }
}
