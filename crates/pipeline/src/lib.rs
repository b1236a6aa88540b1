//! Pipeline stages of cmms-pipeline as services over the store: ingestion (file imports today;
//! webhooks later), validation and mapping, calculation, publication and routing; and API
//! token authentication.
//!
//! Each stage loads what it needs from the store, calls the pure core, and stores the result.
//! The CLI and the HTTP server are thin shells over these services: data comes in through
//! [`feed::import`], and [`cycle::cycle`] runs the stages after it in their one order.

pub mod auth;
pub mod compute;
pub mod corrections;
pub mod cycle;
pub mod feed;
pub mod formulas;
pub mod import;
pub mod ingest;
pub mod inventory;
pub mod pm;
pub mod publish;
pub mod routing;
pub mod thresholds;
