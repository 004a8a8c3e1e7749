//! What is not backed up yet, and why: every asset found but not hashed, every queued or failed
//! file, each with the state it is in at this moment (hashing, uploading n of m bytes, waiting
//! for Wi-Fi / the charger / a background window, retrying at T after an error, failed with a
//! reason and what to do). Built from the client database plus what the running run is doing.

use crate::error::CoreResult;
use crate::policy::PauseReason;
use crate::state::{FAILED, StateDb, now_ms};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Found in the library, not hashed yet.
    WaitingToHash,
    /// Being hashed now: `hashed` bytes so far.
    Hashing {
        hashed: u64,
    },
    /// Hashed and queued; a running backup gets to it in turn.
    Queued,
    /// Queued; no backup is running (the platform grants the next window).
    WaitingForWindow,
    /// Queued; the network/power policy does not allow uploading now.
    Paused(PauseReason),
    Uploading {
        sent: u64,
        total: u64,
    },
    /// Failed for a passing reason; tried again from `at_ms`.
    RetryAt {
        at_ms: i64,
        error: String,
    },
    /// Retrying will not help until something changes; `hint` says what to do.
    Failed {
        reason: String,
        hint: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingItem {
    pub local_id: String,
    pub file_name: String,
    pub size: u64,
    /// In the large-file lane.
    pub large: bool,
    pub state: PendingState,
}

/// What is going on right now (empty for a process that is not running the backup).
#[derive(Debug, Clone, Default)]
pub struct LiveView {
    pub running: bool,
    pub pause: Option<PauseReason>,
    pub hashing: Option<(String, u64)>,
    /// local id → (bytes sent, total).
    pub uploading: HashMap<String, (u64, u64)>,
}

pub fn pending(
    db: &StateDb,
    large_threshold: u64,
    live: &LiveView,
) -> CoreResult<Vec<PendingItem>> {
    let now = now_ms();
    let mut out = Vec::new();
    for (row, hint) in db.unfinished()? {
        let state = if row.state == FAILED {
            PendingState::Failed {
                reason: row.last_error.clone().unwrap_or_default(),
                hint: hint.unwrap_or_default(),
            }
        } else if let Some(&(sent, total)) = live.uploading.get(&row.local_id) {
            PendingState::Uploading { sent, total }
        } else if row.next_attempt_ms > now
            && let Some(error) = &row.last_error
        {
            PendingState::RetryAt {
                at_ms: row.next_attempt_ms,
                error: error.clone(),
            }
        } else if let Some(reason) = live.pause {
            PendingState::Paused(reason)
        } else if live.running {
            PendingState::Queued
        } else {
            PendingState::WaitingForWindow
        };
        out.push(PendingItem {
            large: row.size > large_threshold,
            local_id: row.local_id,
            file_name: row.file_name,
            size: row.size,
            state,
        });
    }
    for (t, _saved) in db.to_hash()? {
        let state = match (&live.hashing, &t.error) {
            (Some((id, hashed)), _) if *id == t.local_id => {
                PendingState::Hashing { hashed: *hashed }
            }
            (_, Some((reason, hint))) => PendingState::Failed {
                reason: reason.clone(),
                hint: hint.clone(),
            },
            // Saved progress is kept: the next window goes on from there.
            _ => PendingState::WaitingToHash,
        };
        out.push(PendingItem {
            large: t.size > large_threshold,
            local_id: t.local_id,
            file_name: t.file_name,
            size: t.size,
            state,
        });
    }
    Ok(out)
}
