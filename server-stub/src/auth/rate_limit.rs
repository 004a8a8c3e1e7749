//! Password throttling that stops attackers, not owners: failures count per (target, client
//! address) — a login's account, a shared link — and per client address across all targets
//! (higher threshold: a household shares one router). Past a few free failures each further one
//! doubles the wait (exponential backoff, capped). There is no lock on a target as such, so
//! someone guessing a link's password from one address never refuses the right password from
//! another.
//!
//! Client addresses come from [`crate::auth::client::ClientIp`] (`X-Forwarded-For` only from
//! configured proxies). IPv6 clients count per /64, which one subscriber usually holds whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one (target, address) pair before the first wait.
pub const FREE_PER_TARGET: u32 = 4;
/// Failures from one address, over all targets, before the first wait.
pub const FREE_PER_ADDRESS: u32 = 20;
/// The first wait; each further failure doubles it, up to [`MAX_WAIT`].
pub const BASE_WAIT: Duration = Duration::from_secs(5);
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A record with no failure for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Records kept before stale ones are pruned, so a flood of targets cannot grow memory.
const PRUNE_AT: usize = 10_000;

/// The two counters one password attempt touches.
#[derive(Debug, Clone)]
pub struct Keys {
    pair: String,
    address: String,
}

impl Keys {
    /// `target` names what is guessed (`email:…`, `share:…`); `client` is who guesses.
    pub fn new(target: &str, client: IpAddr) -> Self {
        let address = address_key(client);
        Self {
            pair: format!("{target}|{address}"),
            address,
        }
    }
}

/// An IPv4 address as is; an IPv6 address by its /64 (IPv4-mapped ones as IPv4).
fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    until: Instant,
}

#[derive(Default)]
pub struct Throttle {
    records: Mutex<HashMap<String, Record>>,
}

/// The wait after `failures` failures when the first `free` cost nothing.
fn wait_after(failures: u32, free: u32) -> Duration {
    if failures <= free {
        return Duration::ZERO;
    }
    let doublings = (failures - free - 1).min(20);
    BASE_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

fn secs_ceil(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

impl Throttle {
    /// `Err(seconds to wait)` while this client must wait before trying this target again.
    pub fn check(&self, keys: &Keys) -> Result<(), u64> {
        self.check_at(keys, Instant::now())
    }

    pub fn failed(&self, keys: &Keys) {
        self.failed_at(keys, Instant::now())
    }

    /// The right password: this client's record for this target is cleared (its address-wide
    /// count stays, so one's own account cannot launder guesses at others).
    pub fn succeeded(&self, keys: &Keys) {
        if let Ok(mut map) = self.records.lock() {
            map.remove(&keys.pair);
        }
    }

    fn check_at(&self, keys: &Keys, now: Instant) -> Result<(), u64> {
        let Ok(map) = self.records.lock() else {
            return Ok(());
        };
        let wait = [&keys.pair, &keys.address]
            .into_iter()
            .filter_map(|k| map.get(k))
            .map(|r| r.until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            Err(secs_ceil(wait))
        }
    }

    fn failed_at(&self, keys: &Keys, now: Instant) {
        let Ok(mut map) = self.records.lock() else {
            return;
        };
        if map.len() >= PRUNE_AT {
            map.retain(|_, r| now.saturating_duration_since(r.last) < FORGET_AFTER);
        }
        for (key, free) in [
            (&keys.pair, FREE_PER_TARGET),
            (&keys.address, FREE_PER_ADDRESS),
        ] {
            let r = map.entry(key.clone()).or_insert(Record {
                failures: 0,
                last: now,
                until: now,
            });
            if now.saturating_duration_since(r.last) >= FORGET_AFTER {
                r.failures = 0;
            }
            r.failures = r.failures.saturating_add(1);
            r.last = now;
            r.until = now + wait_after(r.failures, free);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(wait_after(FREE_PER_TARGET, FREE_PER_TARGET), Duration::ZERO);
        assert_eq!(wait_after(FREE_PER_TARGET + 1, FREE_PER_TARGET), BASE_WAIT);
        assert_eq!(
            wait_after(FREE_PER_TARGET + 3, FREE_PER_TARGET),
            BASE_WAIT * 4
        );
        assert_eq!(wait_after(u32::MAX, 0), MAX_WAIT);
    }

    #[test]
    fn an_attacker_waits_and_another_client_does_not() {
        let t = Throttle::default();
        let now = Instant::now();
        let attacker = Keys::new("share:L", ip("127.0.0.2"));
        let owner = Keys::new("share:L", ip("127.0.0.3"));
        for _ in 0..FREE_PER_TARGET {
            t.failed_at(&attacker, now);
            assert!(t.check_at(&attacker, now).is_ok());
        }
        t.failed_at(&attacker, now);
        assert_eq!(t.check_at(&attacker, now), Err(5));
        assert!(t.check_at(&attacker, now + BASE_WAIT).is_ok());
        assert!(t.check_at(&owner, now).is_ok(), "no lock on the link");
        t.failed_at(&attacker, now + BASE_WAIT);
        assert_eq!(t.check_at(&attacker, now + BASE_WAIT), Err(10));
        // success clears the pair, forgetting clears everything
        t.succeeded(&attacker);
        assert!(t.check_at(&attacker, now + BASE_WAIT).is_ok());
        t.failed_at(&attacker, now + FORGET_AFTER * 3);
        assert!(t.check_at(&attacker, now + FORGET_AFTER * 3).is_ok());
    }

    #[test]
    fn one_address_spraying_many_targets_is_slowed() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..FREE_PER_ADDRESS {
            let k = Keys::new(&format!("email:{i}@x"), ip("10.0.0.1"));
            t.failed_at(&k, now);
            assert!(t.check_at(&k, now).is_ok());
        }
        let k = Keys::new("email:new@x", ip("10.0.0.1"));
        t.failed_at(&k, now);
        assert!(
            t.check_at(&Keys::new("email:other@x", ip("10.0.0.1")), now)
                .is_err()
        );
        assert!(
            t.check_at(&Keys::new("email:other@x", ip("10.0.0.2")), now)
                .is_ok()
        );
    }

    #[test]
    fn ipv6_counts_per_slash_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            address_key(ip("::ffff:1.2.3.4")),
            address_key(ip("1.2.3.4"))
        );
    }
}
