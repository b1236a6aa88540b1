//! Pure domain of cmms-pipeline: identifiers, quantities, timestamps, import records, the formula
//! registry, threshold and drift math, the inventory gate, MTBF and PM due dates, the work-order
//! state machine, the routing engine's decisions, the API token and dashboard session rules, and
//! the spreadsheet-safe CSV cell rule. Nothing here performs I/O or reads the clock.

pub mod auth;
pub mod corrections;
pub mod demand;
pub mod drift;
pub mod feeds;
pub mod formula;
pub mod ids;
pub mod inventory;
pub mod life;
pub mod mapping;
pub mod master;
pub mod pm;
pub mod publication;
pub mod quantity;
pub mod reliability;
pub mod routing;
pub mod session;
pub mod spreadsheet;
pub mod thresholds;
pub mod time;
pub mod units;
pub mod usage;
pub mod work_order;
