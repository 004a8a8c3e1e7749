//! When the backup may use the network. The platform pushes network and power state in; the
//! settings say what the user wants (Wi-Fi only by default). Until the platform has reported
//! both, nothing is allowed: a background run never guesses "unmetered and charging". Waiting
//! code watches the combined state and resumes as soon as the condition holds again; running
//! requests watch it too and are aborted the moment it stops holding.

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkKind {
    Wifi,
    Cellular,
    /// Ethernet or anything else not billed per byte.
    Other,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    pub kind: NetworkKind,
    /// The platform says this connection costs money per byte (hotspot, metered Wi-Fi).
    pub metered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PowerState {
    pub charging: bool,
    pub low_power: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub wifi_only: bool,
    pub charging_only: bool,
    /// Put uploaded assets into server albums named like their local albums.
    pub album_sync: bool,
    /// Files uploaded at the same time.
    pub parallel_uploads: u32,
    /// Files larger than this (bytes) go to their own lane, so one big video never holds the
    /// photos queued behind it.
    #[serde(default = "default_large_file_threshold")]
    pub large_file_threshold: u64,
}

pub const DEFAULT_LARGE_FILE_THRESHOLD: u64 = 100 << 20;

fn default_large_file_threshold() -> u64 {
    DEFAULT_LARGE_FILE_THRESHOLD
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            wifi_only: true,
            charging_only: false,
            album_sync: true,
            parallel_uploads: 2,
            large_file_threshold: DEFAULT_LARGE_FILE_THRESHOLD,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PauseReason {
    /// The platform has not reported the network and power state yet.
    StateUnknown,
    NoNetwork,
    /// Wi-Fi only is on and the connection is cellular or metered.
    WaitingForWifi,
    WaitingForCharger,
    /// Low power mode and not charging.
    LowPower,
}

impl PauseReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::StateUnknown => "waiting for the device to report its network and battery state",
            Self::NoNetwork => "waiting for a network connection",
            Self::WaitingForWifi => "waiting for Wi-Fi (Wi-Fi only is on)",
            Self::WaitingForCharger => "waiting for the charger (charging only is on)",
            Self::LowPower => "paused in low power mode",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions {
    pub settings: Settings,
    /// `None` until the platform reports it.
    pub network: Option<NetworkState>,
    pub power: Option<PowerState>,
}

impl Conditions {
    /// `Ok` when the backup may use the network now, else why not.
    pub fn check(&self) -> Result<(), PauseReason> {
        let (Some(net), Some(power)) = (self.network, self.power) else {
            return Err(PauseReason::StateUnknown);
        };
        if net.kind == NetworkKind::None {
            return Err(PauseReason::NoNetwork);
        }
        if self.settings.wifi_only && (net.kind == NetworkKind::Cellular || net.metered) {
            return Err(PauseReason::WaitingForWifi);
        }
        if self.settings.charging_only && !power.charging {
            return Err(PauseReason::WaitingForCharger);
        }
        if power.low_power && !power.charging {
            return Err(PauseReason::LowPower);
        }
        Ok(())
    }
}

/// The live conditions, shared between the platform (writer) and the uploaders (readers).
#[derive(Clone)]
pub struct Policy {
    tx: watch::Sender<Conditions>,
}

impl Policy {
    pub fn new(settings: Settings) -> Self {
        let (tx, _) = watch::channel(Conditions {
            settings,
            network: None,
            power: None,
        });
        Self { tx }
    }

    /// A desktop's state: an unmetered network and mains power (the CLI says so at start).
    pub fn desktop() -> (NetworkState, PowerState) {
        (
            NetworkState {
                kind: NetworkKind::Other,
                metered: false,
            },
            PowerState {
                charging: true,
                low_power: false,
            },
        )
    }

    pub fn current(&self) -> Conditions {
        self.tx.borrow().clone()
    }

    pub fn set_network(&self, network: NetworkState) {
        self.tx.send_modify(|c| c.network = Some(network));
    }

    pub fn set_power(&self, power: PowerState) {
        self.tx.send_modify(|c| c.power = Some(power));
    }

    pub fn set_settings(&self, settings: Settings) {
        self.tx.send_modify(|c| c.settings = settings);
    }

    pub fn check(&self) -> Result<(), PauseReason> {
        self.tx.borrow().check()
    }

    /// Resolves once uploading is allowed.
    pub async fn allowed(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|c| c.check().is_ok()).await;
    }

    /// Resolves with the reason as soon as the network may no longer be used.
    pub async fn disallowed(&self) -> PauseReason {
        let mut rx = self.tx.subscribe();
        let reason = rx
            .wait_for(|c| c.check().is_err())
            .await
            .ok()
            .and_then(|c| c.check().err());
        match reason {
            Some(r) => r,
            // The sender lives as long as the policy: never resolves while it exists.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(settings: Settings) -> Policy {
        let p = Policy::new(settings);
        let (net, power) = Policy::desktop();
        p.set_network(net);
        p.set_power(power);
        p
    }

    #[test]
    fn unknown_state_allows_nothing_until_both_are_reported() {
        let p = Policy::new(Settings::default());
        assert_eq!(p.check(), Err(PauseReason::StateUnknown));
        p.set_network(NetworkState {
            kind: NetworkKind::Wifi,
            metered: false,
        });
        assert_eq!(p.check(), Err(PauseReason::StateUnknown), "power unknown");
        p.set_power(PowerState::default());
        assert!(p.check().is_ok());
    }

    #[test]
    fn wifi_only_blocks_cellular_and_metered() {
        let p = reported(Settings::default());
        assert!(p.check().is_ok());
        p.set_network(NetworkState {
            kind: NetworkKind::Cellular,
            metered: true,
        });
        assert_eq!(p.check(), Err(PauseReason::WaitingForWifi));
        p.set_network(NetworkState {
            kind: NetworkKind::Wifi,
            metered: true,
        });
        assert_eq!(p.check(), Err(PauseReason::WaitingForWifi));
        p.set_settings(Settings {
            wifi_only: false,
            ..Settings::default()
        });
        assert!(p.check().is_ok());
        p.set_network(NetworkState {
            kind: NetworkKind::None,
            metered: false,
        });
        assert_eq!(p.check(), Err(PauseReason::NoNetwork));
    }

    #[test]
    fn charging_only_and_low_power() {
        let p = reported(Settings {
            charging_only: true,
            ..Settings::default()
        });
        p.set_power(PowerState {
            charging: false,
            low_power: false,
        });
        assert_eq!(p.check(), Err(PauseReason::WaitingForCharger));
        p.set_settings(Settings::default());
        p.set_power(PowerState {
            charging: false,
            low_power: true,
        });
        assert_eq!(p.check(), Err(PauseReason::LowPower));
    }

    #[tokio::test]
    async fn allowed_resolves_when_wifi_returns() {
        let p = reported(Settings::default());
        p.set_network(NetworkState {
            kind: NetworkKind::Cellular,
            metered: false,
        });
        let waiter = tokio::spawn({
            let p = p.clone();
            async move { p.allowed().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        p.set_network(NetworkState {
            kind: NetworkKind::Wifi,
            metered: false,
        });
        tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap();
        let watcher = tokio::spawn({
            let p = p.clone();
            async move { p.disallowed().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!watcher.is_finished(), "allowed on Wi-Fi");
        p.set_network(NetworkState {
            kind: NetworkKind::Wifi,
            metered: true,
        });
        let reason = tokio::time::timeout(std::time::Duration::from_secs(2), watcher)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reason, PauseReason::WaitingForWifi);
    }
}
