//! vaora's domain: values and the rules that make them valid. No I/O, no async, no database.
//!
//! Every validated type is built by `parse` (or `new` returning a `Result`), so that a value of the
//! type is valid by construction and the layers above never re-check it.

pub mod admin_units;
pub mod audit;
pub mod cccd;
pub mod codes;
pub mod health;
pub mod ids;
pub mod org;
pub mod password;
pub mod person;
pub mod phone;
pub mod role;
pub mod status;
pub mod time;
pub mod tracing;

pub use ids::*;
pub use time::Timestamp;
