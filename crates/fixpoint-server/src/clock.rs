//! Where "now" comes from: the system clock in production, a hand-set clock in
//! tests, so tests move time instead of sleeping.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<Mutex<Timestamp>>),
}

impl Clock {
    pub fn manual(start: Timestamp) -> Self {
        Self::Manual(Arc::new(Mutex::new(start)))
    }

    /// Now, truncated to the microseconds the database keeps.
    pub fn now(&self) -> Timestamp {
        let now = match self {
            Self::System => Timestamp::now(),
            Self::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        };
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }

    /// Sets a manual clock; a system clock cannot be set.
    pub fn set(&self, to: Timestamp) {
        if let Self::Manual(at) = self {
            *at.lock().unwrap_or_else(|e| e.into_inner()) = to;
        }
    }

    pub fn advance(&self, by: SignedDuration) {
        self.set(self.now() + by);
    }
}
