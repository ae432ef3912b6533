//! Per-key request limits for the vendor dialects (Atera: 700 a minute). A fixed
//! window per key, counted in this process: with several servers behind a balancer
//! each enforces the limit on what it sees.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

#[derive(Debug)]
pub struct RateLimit {
    per_window: u32,
    window: Duration,
    counts: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

impl RateLimit {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key` (the credential as sent; only its digest is
    /// kept). `Ok` carries the requests counted in this window so far; `Err` the
    /// whole seconds until the window resets.
    pub fn check(&self, key: &str, now: Instant) -> Result<u32, u64> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let Ok(mut counts) = self.counts.lock() else {
            return Ok(0);
        };
        if counts.len() > 10_000 {
            let window = self.window;
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let (start, count) = counts.entry(digest).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_window {
            let left = self.window.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        *count += 1;
        Ok(*count)
    }
}

impl RateLimit {
    /// Whether `key` has used up its window, without counting a request: the seconds
    /// until it may try again.
    pub fn blocked(&self, key: &str, now: Instant) -> Option<u64> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let counts = self.counts.lock().ok()?;
        let (start, count) = counts.get(&digest)?;
        let elapsed = now.duration_since(*start);
        (elapsed < self.window && *count >= self.per_window).then(|| {
            let left = self.window.saturating_sub(elapsed);
            left.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_share_per_window_and_no_more() {
        let limit = RateLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for n in 1..=3 {
            assert_eq!(limit.check("key-a", start), Ok(n));
        }
        assert_eq!(
            limit.check("key-a", start + Duration::from_secs(15)),
            Err(45)
        );
        assert_eq!(limit.check("key-b", start), Ok(1), "keys are counted apart");
        assert_eq!(limit.check("key-a", start + Duration::from_secs(60)), Ok(1));
    }

    #[test]
    fn blocked_looks_without_counting() {
        let limit = RateLimit::new(2, Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(limit.blocked("k", start), None);
        limit.check("k", start).unwrap();
        assert_eq!(limit.blocked("k", start), None);
        limit.check("k", start).unwrap();
        assert_eq!(
            limit.blocked("k", start + Duration::from_secs(20)),
            Some(40)
        );
        assert_eq!(limit.blocked("k", start + Duration::from_secs(60)), None);
    }
}
