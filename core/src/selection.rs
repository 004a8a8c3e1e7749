//! Which albums are backed up, with Immich's rules: assets in a selected album are backed up,
//! an excluded album wins over a selected one, and an asset in several albums counts once.

use crate::library::LocalAsset;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumSelection {
    /// Album ids to back up; `None` means every album.
    pub selected: Option<Vec<String>>,
    /// Album ids never backed up, even when an asset is also in a selected album.
    pub excluded: Vec<String>,
}

impl AlbumSelection {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn includes(&self, asset: &LocalAsset) -> bool {
        if asset.album_ids.iter().any(|a| self.excluded.contains(a)) {
            return false;
        }
        match &self.selected {
            None => true,
            Some(sel) => asset.album_ids.iter().any(|a| sel.contains(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::MediaType;

    fn asset(albums: &[&str]) -> LocalAsset {
        LocalAsset {
            local_id: "x".into(),
            file_name: "x.jpg".into(),
            album_ids: albums.iter().map(|s| s.to_string()).collect(),
            size: 1,
            modified_ms: 0,
            created_ms: 0,
            media_type: MediaType::Image,
        }
    }

    #[test]
    fn excluded_wins_and_selection_filters() {
        let sel = AlbumSelection {
            selected: Some(vec!["camera".into(), "trip".into()]),
            excluded: vec!["screenshots".into()],
        };
        assert!(sel.includes(&asset(&["camera"])));
        assert!(sel.includes(&asset(&["whatsapp", "trip"])));
        assert!(!sel.includes(&asset(&["whatsapp"])));
        assert!(!sel.includes(&asset(&["camera", "screenshots"])));
        assert!(AlbumSelection::all().includes(&asset(&["anything"])));
        let all_but = AlbumSelection {
            selected: None,
            excluded: vec!["screenshots".into()],
        };
        assert!(!all_but.includes(&asset(&["screenshots"])));
    }
}
