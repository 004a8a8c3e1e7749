//! Adaptive chunk size (Nextcloud's rule): after each chunk,
//! `next = clamp((cur + cur * TARGET / elapsed) / 2, MIN, MAX)`, so chunks take about `TARGET`
//! on any link; halved after a 413; capped so a chunk fits in a background task's time left.

use std::time::Duration;

pub const START: u64 = 8 << 20;
pub const MIN: u64 = 1 << 20;
pub const MAX: u64 = 64 << 20;
pub const TARGET: Duration = Duration::from_secs(20);
const GRAIN: u64 = 256 << 10;

#[derive(Debug, Clone, Copy)]
pub struct ChunkSizer {
    size: u64,
    /// Upper bound learned from a 413.
    ceiling: u64,
}

impl Default for ChunkSizer {
    fn default() -> Self {
        Self {
            size: START,
            ceiling: MAX,
        }
    }
}

impl ChunkSizer {
    pub fn current(&self) -> u64 {
        self.size
    }

    /// Learns from a chunk of `sent` bytes that took `elapsed`.
    pub fn observe(&mut self, sent: u64, elapsed: Duration) {
        if sent < self.size / 2 {
            return; // a short last chunk says little about the link
        }
        let secs = elapsed.as_secs_f64().max(0.001);
        let cur = self.size as f64;
        let next = (cur + cur * TARGET.as_secs_f64() / secs) / 2.0;
        self.size = clamp(next as u64, self.ceiling);
    }

    /// The server refused a chunk as too large.
    pub fn too_large(&mut self) -> bool {
        if self.size <= MIN {
            return false;
        }
        self.ceiling = clamp(self.size / 2, MAX).min(32 << 20);
        self.size = self.ceiling;
        true
    }

    /// The size to send now with `left` time at `bytes_per_sec`: never more than fits.
    pub fn for_time_left(&self, left: Duration, bytes_per_sec: f64) -> u64 {
        if bytes_per_sec <= 0.0 {
            return self.size;
        }
        let fits = (bytes_per_sec * left.as_secs_f64() * 0.8) as u64;
        self.size.min(fits.max(GRAIN))
    }
}

fn clamp(v: u64, ceiling: u64) -> u64 {
    let v = v.clamp(MIN, ceiling.max(MIN));
    (v / GRAIN).max(1) * GRAIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_on_fast_links_shrinks_on_slow_ones_and_halves_on_413() {
        let mut c = ChunkSizer::default();
        assert_eq!(c.current(), START);
        c.observe(START, Duration::from_millis(100));
        assert_eq!(c.current(), MAX, "fast loopback reaches the maximum");
        for _ in 0..10 {
            c.observe(c.current(), Duration::from_secs(200));
        }
        assert_eq!(c.current(), MIN, "a slow link shrinks to the minimum");
        let mut c = ChunkSizer::default();
        c.observe(START, Duration::from_secs(20));
        assert_eq!(c.current(), START, "on target: unchanged");
        assert!(c.too_large());
        assert_eq!(c.current(), 4 << 20);
        c.observe(c.current(), Duration::from_millis(1));
        assert_eq!(c.current(), 4 << 20, "never above what the server refused");
        assert_eq!(c.for_time_left(Duration::from_secs(1), 1e6), 800_000);
        assert_eq!(c.current() % GRAIN, 0);
    }
}
