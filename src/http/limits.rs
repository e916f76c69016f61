//! Request rate limits: a token bucket per API key (`[limits] requests_per_minute`), and
//! one per client address for failed authentication (loopback is exempt, so local test
//! suites see plain 401s).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Failed authentications allowed per minute from one non-loopback address.
pub const AUTH_FAILURES_PER_MINUTE: u32 = 30;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets that refill at `per_minute / 60` a second up to `per_minute`.
pub struct Limiter<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Limiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let rate = f64::from(self.per_minute) / 60.0;
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(f64::from(self.per_minute));
        b.at = now;
    }

    /// Takes one token; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: &K) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget full buckets so that many distinct keys cannot grow the map forever.
            let cap = f64::from(self.per_minute);
            buckets.retain(|_, b| b.tokens < cap && now.duration_since(b.at).as_secs() < 120);
        }
        let b = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        });
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let rate = f64::from(self.per_minute) / 60.0;
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Addresses whose failed authentications are not slowed down.
pub fn is_exempt(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_says_how_long_to_wait() {
        let l = Limiter::new(3);
        assert_eq!(l.take(&1), Ok(()));
        assert_eq!(l.take(&1), Ok(()));
        assert_eq!(l.take(&1), Ok(()));
        assert_eq!(l.take(&1), Err(20));
        assert_eq!(l.take(&2), Ok(()));
        assert_eq!(Limiter::<i64>::new(0).take(&1), Ok(()));
    }
}
