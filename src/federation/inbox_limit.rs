//! How many activities one instance may bring to the inboxes: a token bucket per instance
//! (the signing key's server), checked before anything costs a query or a signature check. A
//! flood from one server is answered `429` and it retries later, as servers do; other
//! instances are not slowed. Per process: behind several Folio processes an instance gets
//! that many times the rate, which still bounds a flood.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Sustained activities a second from one instance (a large instance delivering a boosted
/// post's likes stays well under it).
const PER_SECOND: f64 = 20.0;
/// A burst, such as an instance's queue draining after an outage.
const BURST: f64 = 600.0;
/// Buckets kept before full ones are forgotten.
const MAX_INSTANCES: usize = 10_000;

#[derive(Debug, Default)]
pub struct InboxLimit {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl InboxLimit {
    /// Takes a token for `instance`; `Err` with how long until one is free when there is none.
    pub fn take(&self, instance: &str) -> Result<(), Duration> {
        self.take_at(instance, Instant::now())
    }

    fn take_at(&self, instance: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_INSTANCES && !buckets.contains_key(instance) {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * PER_SECOND < BURST
            });
        }
        let (tokens, at) = buckets.entry(instance.to_owned()).or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * PER_SECOND).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / PER_SECOND))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_instance_is_held_back_and_others_go_on() {
        let limit = InboxLimit::default();
        let start = Instant::now();
        let taken = (0..1000)
            .filter(|_| limit.take_at("flood.example", start).is_ok())
            .count();
        assert_eq!(taken, BURST as usize);
        let wait = limit.take_at("flood.example", start).unwrap_err();
        assert!(wait <= Duration::from_millis(50), "{wait:?}");
        assert!(limit.take_at("calm.example", start).is_ok());
        // A second later, a second's worth again.
        let later = start + Duration::from_secs(1);
        let taken = (0..100)
            .filter(|_| limit.take_at("flood.example", later).is_ok())
            .count();
        assert_eq!(taken, PER_SECOND as usize);
    }
}
