//! Pure domain of cmms-pipeline: identifiers, quantities, timestamps and (in later modules) the
//! threshold, MTBF/PM and work-order logic. Nothing here performs I/O or reads the clock.

pub mod ids;
pub mod master;
pub mod quantity;
pub mod time;
