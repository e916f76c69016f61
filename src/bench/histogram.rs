//! Latency histogram: log-linear, 64 steps per power of two (≤ 1.6% error), microseconds.

use std::time::Duration;

const SUB: u32 = 6;
const BUCKETS: usize = (1 << SUB) * 40;

#[derive(Clone)]
pub(super) struct Histogram {
    counts: Vec<u32>,
    total: u64,
    pub(super) max_us: u64,
}

impl Histogram {
    pub(super) fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }

    fn index(us: u64) -> usize {
        if us < (1 << SUB) {
            return us as usize;
        }
        let e = 63 - us.leading_zeros();
        let sub = (us >> (e - SUB)) & ((1 << SUB) - 1);
        (((e - SUB + 1) as usize) << SUB) + sub as usize
    }

    /// The middle of bucket `i`, in microseconds.
    fn value(i: usize) -> f64 {
        if i < (1 << SUB) {
            return i as f64;
        }
        let e = (i >> SUB) as u32 + SUB - 1;
        let sub = (i & ((1 << SUB) - 1)) as u64;
        let low = (1u64 << e) + (sub << (e - SUB));
        low as f64 + (1u64 << (e - SUB)) as f64 / 2.0
    }

    pub(super) fn record(&mut self, d: Duration) {
        let us = d.as_micros() as u64;
        self.max_us = self.max_us.max(us);
        let i = Self::index(us).min(BUCKETS - 1);
        self.counts[i] += 1;
        self.total += 1;
    }

    pub(super) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The `q` quantile (0..1) in milliseconds (never above the slowest); 0 when empty.
    pub(super) fn quantile_ms(&self, q: f64) -> f64 {
        self.bucket_quantile_us(q).min(self.max_us as f64) / 1000.0
    }

    fn bucket_quantile_us(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Self::value(i);
            }
        }
        Self::value(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_within_two_percent() {
        for us in (0..5000u64).chain((1..40).map(|k| 1u64 << k).flat_map(|p| [p - 1, p, p + 7])) {
            let i = Histogram::index(us);
            assert!(i < BUCKETS, "{us}");
            let v = Histogram::value(i);
            assert!(
                (v - us as f64).abs() <= (us as f64 * 0.02).max(0.5),
                "{us} -> {v}"
            );
        }
    }

    #[test]
    fn quantiles_and_max() {
        let mut h = Histogram::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_micros(ms * 1000));
        }
        assert!((h.quantile_ms(0.5) - 500.0).abs() < 10.0);
        assert!((h.quantile_ms(0.99) - 990.0).abs() < 20.0);
        assert!(h.quantile_ms(0.999) <= 1000.0);
        assert_eq!(h.max_us, 1_000_000);
        assert_eq!(Histogram::new().quantile_ms(0.5), 0.0);
    }
}
