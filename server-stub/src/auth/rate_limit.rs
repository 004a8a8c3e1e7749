//! Login throttling: after `MAX_FAILURES` failed logins for one email (or `MAX_FAILURES_PER_ADDRESS`
//! from one client address, which a household behind one router shares) within `WINDOW`, further
//! attempts answer 429 until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old windows are pruned, so a flood of random emails cannot grow memory.
const PRUNE_AT: usize = 10_000;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// `Some(seconds to wait)` when any of `keys` is locked out. Keys starting with `ip:` have
    /// the per-address limit, all others the per-account one.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
        let map = self.failures.lock().ok()?;
        keys.iter()
            .filter_map(|k| map.get(k).map(|v| (limit(k), v)))
            .filter(|(max, (n, since))| n >= max && since.elapsed() < WINDOW)
            .map(|(_, (_, since))| WINDOW.saturating_sub(since.elapsed()).as_secs().max(1))
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

fn limit(key: &str) -> u32 {
    if key.starts_with("ip:") {
        MAX_FAILURES_PER_ADDRESS
    } else {
        MAX_FAILURES
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
        assert!(l.blocked(&keys).is_none(), "the address has a higher limit");
        let other = vec!["email:c@d".to_string(), "ip:1.2.3.4".to_string()];
        for _ in 0..MAX_FAILURES_PER_ADDRESS {
            l.record_failure(&other[1..]);
        }
        assert!(
            l.blocked(&other).is_some(),
            "the address is throttled for every account"
        );
    }
}
