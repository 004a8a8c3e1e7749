//! API-key permissions, named as Immich 2.x names them (its `Permission` enum). A key holds a
//! list of them, stored as given; `all` holds every one. Sessions (a password login) act with
//! all of their user's rights. Each route's required permission is declared next to its access
//! policy in [`crate::policy::POLICIES`].

/// Every permission name Immich 2.x defines (its `Permission` enum), in its order. A key may be
/// created with any of these (several have no route here yet; they are kept as given).
pub const KNOWN: &[&str] = &[
    "all",
    "activity.create",
    "activity.read",
    "activity.update",
    "activity.delete",
    "activity.statistics",
    "apiKey.create",
    "apiKey.read",
    "apiKey.update",
    "apiKey.delete",
    "asset.read",
    "asset.update",
    "asset.delete",
    "asset.statistics",
    "asset.share",
    "asset.view",
    "asset.download",
    "asset.upload",
    "asset.replace",
    "asset.copy",
    "album.create",
    "album.read",
    "album.update",
    "album.delete",
    "album.statistics",
    "album.share",
    "album.download",
    "albumAsset.create",
    "albumAsset.delete",
    "albumUser.create",
    "albumUser.update",
    "albumUser.delete",
    "auth.changePassword",
    "authDevice.delete",
    "archive.read",
    "backup.list",
    "backup.download",
    "backup.upload",
    "backup.delete",
    "duplicate.read",
    "duplicate.delete",
    "face.create",
    "face.read",
    "face.update",
    "face.delete",
    "folder.read",
    "job.create",
    "job.read",
    "library.create",
    "library.read",
    "library.update",
    "library.delete",
    "library.statistics",
    "timeline.read",
    "timeline.download",
    "maintenance",
    "map.read",
    "map.search",
    "memory.create",
    "memory.read",
    "memory.update",
    "memory.delete",
    "memory.statistics",
    "memoryAsset.create",
    "memoryAsset.delete",
    "notification.create",
    "notification.read",
    "notification.update",
    "notification.delete",
    "partner.create",
    "partner.read",
    "partner.update",
    "partner.delete",
    "person.create",
    "person.read",
    "person.update",
    "person.delete",
    "person.statistics",
    "person.merge",
    "person.reassign",
    "pinCode.create",
    "pinCode.update",
    "pinCode.delete",
    "server.about",
    "server.apkLinks",
    "server.storage",
    "server.statistics",
    "server.versionCheck",
    "serverLicense.read",
    "serverLicense.update",
    "serverLicense.delete",
    "session.create",
    "session.read",
    "session.update",
    "session.delete",
    "session.lock",
    "sharedLink.create",
    "sharedLink.read",
    "sharedLink.update",
    "sharedLink.delete",
    "stack.create",
    "stack.read",
    "stack.update",
    "stack.delete",
    "sync.stream",
    "syncCheckpoint.read",
    "syncCheckpoint.update",
    "syncCheckpoint.delete",
    "systemConfig.read",
    "systemConfig.update",
    "systemMetadata.read",
    "systemMetadata.update",
    "tag.create",
    "tag.read",
    "tag.update",
    "tag.delete",
    "tag.asset",
    "user.read",
    "user.update",
    "userLicense.create",
    "userLicense.read",
    "userLicense.update",
    "userLicense.delete",
    "userOnboarding.read",
    "userOnboarding.update",
    "userOnboarding.delete",
    "userPreference.read",
    "userPreference.update",
    "userProfileImage.create",
    "userProfileImage.read",
    "userProfileImage.update",
    "userProfileImage.delete",
    "adminUser.create",
    "adminUser.read",
    "adminUser.update",
    "adminUser.delete",
    "adminSession.read",
    "adminAuth.unlinkAll",
];

/// What a route asks of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// No account is involved (public routes, shared-link routes).
    Nothing,
    /// Any key of the account (Immich's `permission: false`: "which key am I").
    AnyKey,
    /// This permission (or `all`).
    Permission(&'static str),
}

impl Required {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Required::Nothing => None,
            Required::AnyKey => Some("any"),
            Required::Permission(p) => Some(p),
        }
    }
}

/// Whether a key holding `held` may do what `required` asks.
pub fn is_granted(held: &[String], required: Required) -> bool {
    match required {
        Required::Nothing | Required::AnyKey => true,
        Required::Permission(p) => held.iter().any(|h| h == "all" || h == p),
    }
}

/// Whether a key holding `held` may hand every one of `wanted` to a new key.
pub fn may_grant(held: &[String], wanted: &[String]) -> bool {
    held.iter().any(|h| h == "all") || wanted.iter().all(|w| held.contains(w))
}

/// `Err(name)` for the first name Immich does not define.
pub fn validate(names: &[String]) -> Result<(), String> {
    match names.iter().find(|n| !KNOWN.contains(&n.as_str())) {
        Some(bad) => Err(bad.clone()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn all_grants_everything_and_names_are_exact() {
        assert!(is_granted(
            &v(&["all"]),
            Required::Permission("asset.delete")
        ));
        assert!(is_granted(
            &v(&["asset.read"]),
            Required::Permission("asset.read")
        ));
        assert!(!is_granted(
            &v(&["asset.read"]),
            Required::Permission("asset.delete")
        ));
        assert!(!is_granted(
            &v(&["Asset.Read"]),
            Required::Permission("asset.read")
        ));
        assert!(!is_granted(&v(&[]), Required::Permission("user.read")));
        assert!(is_granted(&v(&[]), Required::AnyKey));
        assert!(may_grant(&v(&["all"]), &v(&["all"])));
        assert!(may_grant(
            &v(&["asset.read", "user.read"]),
            &v(&["asset.read"])
        ));
        assert!(!may_grant(&v(&["asset.read"]), &v(&["all"])));
        assert!(validate(&v(&["all", "albumAsset.create"])).is_ok());
        assert_eq!(
            validate(&v(&["asset.read", "asset.*"])),
            Err("asset.*".into())
        );
        for (i, n) in KNOWN.iter().enumerate() {
            assert!(!KNOWN[..i].contains(n), "{n} twice");
        }
    }
}
