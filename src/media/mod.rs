//! Uploaded images as a service: made ready to store on upload (`processing`: upright, without
//! metadata, smaller copies), brought up to date after an upgrade (`backfill`), and kept in
//! each process's memory to serve (`cache`). Reads and writes through `db`; never `http`.

pub mod backfill;
pub mod cache;
pub mod processing;
