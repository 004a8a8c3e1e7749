import Foundation

/// Mirror of `PHAssetSourceType`.
public enum AssetSource: Sendable { case userLibrary, cloudShared, iTunesSynced }

public enum AssetSourcePolicy {
    /// The user's own photos. Shared albums (`.typeCloudShared`) hold other people's photos:
    /// backing them up would fill the user's quota with someone else's pictures.
    public static let included: [AssetSource] = [.userLibrary, .iTunesSynced]
}

/// Mirror of `PHAssetResourceType` (the kinds that matter here).
public enum ResourceKind: Sendable { case photo, fullSizePhoto, video, fullSizeVideo, pairedVideo, alternatePhoto, adjustmentData, other }

public enum ResourcePick {
    /// Index of the resource to back up: the original `.photo` / `.video` (unedited, immutable),
    /// else the full-size rendition, else the first photo/video-like resource. Never adjustment
    /// data or a Live Photo's paired video (that is a second file, not the asset).
    public static func original(isVideo: Bool, kinds: [ResourceKind]) -> Int? {
        let order: [ResourceKind] = isVideo ? [.video, .fullSizeVideo] : [.photo, .fullSizePhoto, .alternatePhoto]
        for want in order {
            if let i = kinds.firstIndex(of: want) { return i }
        }
        return nil
    }
}

/// One asset as the library reports it. [size] is the original resource's exact byte count,
/// learned from an export (PhotoKit has no public size API); nil until then.
public struct AssetRow: Codable, Equatable, Sendable {
    public var localId: String
    public var fileName: String
    public var size: UInt64?
    public var modifiedMs: Int64
    public var createdMs: Int64
    public var video: Bool
    public var albumIds: [String]

    public init(localId: String, fileName: String, size: UInt64?, modifiedMs: Int64, createdMs: Int64, video: Bool, albumIds: [String]) {
        self.localId = localId
        self.fileName = fileName
        self.size = size
        self.modifiedMs = modifiedMs
        self.createdMs = createdMs
        self.video = video
        self.albumIds = albumIds
    }
}

/// What `fetchPersistentChanges(since:)` answered, as plain facts.
public enum ChangeFetch: Equatable, Sendable {
    case changes(inserted: Set<String>, updated: Set<String>, deleted: Set<String>, collectionsChanged: Bool)
    /// `PHPhotosError.persistentChangeTokenExpired`
    case tokenExpired
    /// `PHPhotosError.persistentChangeDetailsUnavailable`
    case detailsUnavailable
    case failed
}

public enum ScanPlan: Equatable, Sendable {
    case full(reason: String)
    /// Read only [changed] assets (fetch them and their resources); drop [deleted]; refresh album
    /// membership only when [membership] (an album's contents changed).
    case incremental(changed: Set<String>, deleted: Set<String>, membership: Bool)
}

public enum ScanPlanner {
    /// [available]: iOS 16+ (`PHPersistentChangeToken`). [fetch] is nil when there was no saved token.
    public static func plan(available: Bool, hasSnapshot: Bool, fetch: ChangeFetch?) -> ScanPlan {
        guard available else { return .full(reason: "persistent change tokens need iOS 16") }
        guard hasSnapshot, let fetch else { return .full(reason: "first scan") }
        switch fetch {
        case let .changes(inserted, updated, deleted, collectionsChanged):
            return .incremental(changed: inserted.union(updated).subtracting(deleted), deleted: deleted, membership: collectionsChanged)
        case .tokenExpired: return .full(reason: "change token expired")
        case .detailsUnavailable: return .full(reason: "change details unavailable")
        case .failed: return .full(reason: "change history unreadable")
        }
    }
}

/// The saved library: the change token it is current with, and the rows.
public struct LibrarySnapshot: Codable, Equatable, Sendable {
    public var token: Data?
    public var rows: [String: AssetRow]

    public init(token: Data? = nil, rows: [String: AssetRow] = [:]) {
        self.token = token
        self.rows = rows
    }

    /// Applies an incremental scan. [fetched]: the changed assets that still exist (fetched by
    /// id); a changed id PhotoKit no longer returns is gone too. The original resource of an
    /// asset never changes (edits are separate renditions), so a known size is kept.
    /// [membership]: album ids per asset when they were recomputed (an asset in none is only in
    /// [baseAlbums], e.g. Recents, which every asset is in).
    public func merge(changed: Set<String>, deleted: Set<String>, fetched: [AssetRow], membership: [String: [String]]?,
                      baseAlbums: [String] = [], token: Data?) -> LibrarySnapshot {
        var rows = self.rows
        for id in deleted { rows.removeValue(forKey: id) }
        let present = Set(fetched.map(\.localId))
        for id in changed where !present.contains(id) { rows.removeValue(forKey: id) }
        for var r in fetched {
            if r.size == nil, let old = rows[r.localId]?.size { r.size = old }
            rows[r.localId] = r
        }
        if let membership {
            for (id, var r) in rows {
                let albums = baseAlbums + (membership[id] ?? [])
                if r.albumIds != albums { r.albumIds = albums; rows[id] = r }
            }
        }
        return LibrarySnapshot(token: token, rows: rows)
    }

    /// Ids still without a known size, newest first (recent photos are backed up first).
    public func unsized() -> [String] {
        rows.values.filter { $0.size == nil }.sorted { ($0.createdMs, $0.localId) > ($1.createdMs, $1.localId) }.map(\.localId)
    }

    /// What the core sees: only rows with a known size (the core needs exact sizes).
    public func reportable() -> [AssetRow] {
        rows.values.filter { $0.size != nil }.sorted { $0.localId < $1.localId }
    }
}

/// Learning sizes costs an export of the original (a download for iCloud-only photos), so one
/// scan sizes a bounded batch; the library then tells the core (`libraryChanged()`), which
/// scans again and gets the next batch. The exports land in the export cache, where hashing and
/// upload find them.
public enum SizingBudget {
    public static let maxCount = 100
    public static let maxSeconds: TimeInterval = 20

    public static func shouldContinue(sized: Int, elapsed: TimeInterval) -> Bool {
        sized < maxCount && elapsed < maxSeconds
    }

    /// After a scan: whether to tell the core that more is coming.
    public static func moreToCome(unsizedLeft: Int) -> Bool { unsizedLeft > 0 }
}
