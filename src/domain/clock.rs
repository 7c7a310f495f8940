//! The time as Folio reads it for what it signs: the system clock in every process, a clock the
//! tests move by hand (a comment form's token must be three seconds old before it is accepted,
//! and a test should not sleep for that).

use time::OffsetDateTime;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
