//! The bounds of one backup run: its cancellation token, its deadline (background windows) and
//! the network/power policy. Every phase asks the window before it starts a unit of work, and
//! every request runs inside it, so a run returns within its budget, a cancel stops it at once,
//! and no request of any kind goes out (or stays in flight) while the policy forbids the network.

use super::StopReason;
use crate::error::{CoreError, CoreResult};
use crate::policy::Policy;
use crate::progress::{Phase, Tracker};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Don't start a unit of work (a chunk, a file to hash, a request) with less time than this.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// A request still in flight this long before the deadline is aborted (the server keeps what
/// it received; the next window resumes from its offset).
pub const ABORT_MARGIN: Duration = Duration::from_millis(300);

#[derive(Clone)]
pub struct Window {
    pub token: CancellationToken,
    pub deadline: Option<Instant>,
    pub policy: Policy,
    /// Told when the run waits for the policy, so the app can say why.
    pub tracker: Tracker,
}

impl Window {
    pub fn bounded(&self) -> bool {
        self.deadline.is_some()
    }

    /// Why no new unit of work may start now: cancelled, or too close to the deadline.
    pub fn stop_reason(&self) -> Option<StopReason> {
        if self.token.is_cancelled() {
            return Some(StopReason::Cancelled);
        }
        if self
            .deadline
            .is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d)
        {
            return Some(StopReason::Deadline);
        }
        None
    }

    /// `stop_reason`, or the policy forbidding the network.
    pub fn net_stop(&self) -> Option<StopReason> {
        self.stop_reason()
            .or_else(|| self.policy.check().err().map(StopReason::Paused))
    }

    /// Waits until the policy allows the network. A bounded run does not wait (the platform
    /// schedules the next window): `Some` is why the run must stop instead.
    pub async fn wait_allowed(&self) -> Option<StopReason> {
        if let Some(stop) = self.stop_reason() {
            return Some(stop);
        }
        let Err(reason) = self.policy.check() else {
            return None;
        };
        if self.bounded() {
            return Some(StopReason::Paused(reason));
        }
        let before = self.tracker.snapshot().map(|p| p.phase);
        self.tracker.phase(Phase::Paused(reason));
        let stop = tokio::select! {
            _ = self.policy.allowed() => self.stop_reason(),
            _ = self.token.cancelled() => Some(StopReason::Cancelled),
        };
        if let Some(phase) = before.filter(|p| !matches!(p, Phase::Paused(_))) {
            self.tracker.phase(phase);
        }
        stop
    }

    /// Resolves when an in-flight request must be dropped: cancelled, at the deadline, or the
    /// policy stops allowing the network.
    pub async fn interrupted(&self) -> StopReason {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.checked_sub(ABORT_MARGIN).unwrap_or(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.token.cancelled() => StopReason::Cancelled,
            _ = deadline => StopReason::Deadline,
            r = self.policy.disallowed() => StopReason::Paused(r),
        }
    }

    /// Runs one request inside the window. It is not sent when the window is over or the
    /// policy forbids the network, and it is dropped mid-flight when either happens. A run
    /// with no deadline waits for the policy instead, and sends the request again.
    pub async fn guard<T, F, Fut>(&self, mut request: F) -> CoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CoreResult<T>>,
    {
        loop {
            if let Some(stop) = self.wait_allowed().await {
                return Err(CoreError::Stopped(stop));
            }
            let interrupted = tokio::select! {
                r = request() => return r,
                stop = self.interrupted() => stop,
            };
            match interrupted {
                StopReason::Paused(_) if !self.bounded() => continue,
                stop => return Err(CoreError::Stopped(stop)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{NetworkKind, NetworkState, Settings};

    fn window(deadline: Option<Duration>) -> Window {
        let policy = Policy::new(Settings::default());
        let (net, power) = Policy::desktop();
        policy.set_network(net);
        policy.set_power(power);
        Window {
            token: CancellationToken::new(),
            deadline: deadline.map(|d| Instant::now() + d),
            policy,
            tracker: Tracker::new(None),
        }
    }

    #[tokio::test]
    async fn requests_are_refused_or_dropped_when_the_network_stops_qualifying() {
        let w = window(Some(Duration::from_secs(30)));
        assert_eq!(w.guard(|| async { Ok(7) }).await.unwrap(), 7);
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(20)).await;
            Ok(())
        };
        let w2 = w.clone();
        let flip = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            w2.policy.set_network(NetworkState {
                kind: NetworkKind::Cellular,
                metered: true,
            });
        });
        let started = Instant::now();
        let r = w.guard(slow).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(r, Err(CoreError::Stopped(StopReason::Paused(_)))),
            "{r:?}"
        );
        flip.await.unwrap();
        let mut sent = false;
        let r = w
            .guard(|| {
                sent = true;
                async { Ok(()) }
            })
            .await;
        assert!(
            r.is_err() && !sent,
            "nothing is sent on cellular with Wi-Fi only"
        );
    }

    #[tokio::test]
    async fn requests_end_before_the_deadline_and_on_cancel() {
        let w = window(Some(Duration::from_secs(2)));
        let started = Instant::now();
        let r = w
            .guard(|| async {
                tokio::time::sleep(Duration::from_secs(20)).await;
                Ok(())
            })
            .await;
        assert!(
            matches!(r, Err(CoreError::Stopped(StopReason::Deadline))),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        let w = window(None);
        let t = w.token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            t.cancel();
        });
        let r = w
            .guard(|| async {
                tokio::time::sleep(Duration::from_secs(20)).await;
                Ok(())
            })
            .await;
        assert!(
            matches!(r, Err(CoreError::Stopped(StopReason::Cancelled))),
            "{r:?}"
        );
    }
}
