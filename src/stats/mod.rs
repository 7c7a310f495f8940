//! What Folio counts: readers' views of posts (`page_views`, batched into `db`) and its own
//! request and worker measurements for Prometheus (`metrics`).

pub mod metrics;
pub mod page_views;
