//! Login throttling: after `MAX_FAILURES` failed logins for one email or from one client address
//! within `WINDOW`, further attempts answer 429 until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old windows are pruned, so a flood of random emails cannot grow memory.
const PRUNE_AT: usize = 10_000;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// `Some(seconds to wait)` when any of `keys` is locked out.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
        let map = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < WINDOW)
            .map(|(_, since)| WINDOW.saturating_sub(since.elapsed()).as_secs().max(1))
            .max()
    }

    pub fn record_failure(&self, keys: &[String]) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= PRUNE_AT {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    pub fn record_success(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_success_clears_only_its_key() {
        let l = LoginLimiter::default();
        let keys = vec!["email:a@b".to_string(), "ip:1.2.3.4".to_string()];
        for _ in 0..MAX_FAILURES - 1 {
            l.record_failure(&keys);
        }
        assert!(l.blocked(&keys).is_none());
        l.record_failure(&keys);
        assert!(l.blocked(&keys).unwrap() > 0);
        l.record_success("email:a@b");
        assert!(l.blocked(&keys[..1]).is_none());
        assert!(l.blocked(&keys).is_some(), "the address stays throttled");
    }
}
