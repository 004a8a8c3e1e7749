import Foundation
import Photos
import ShoeboxCore

/// The device's photos and videos through PhotoKit, as the core's foreign `PhotoLibrary`.
///
/// - Albums are user albums and smart albums (`PHAssetCollection`); an asset can be in several,
///   and the core uploads it once. Every asset is in "Recents" (the user library).
/// - Local ids are `PHAsset.localIdentifier`. Shared-album photos (`.typeCloudShared`: other
///   people's pictures) are not backed up (`AssetSourcePolicy`).
/// - Scans are incremental on iOS 16+: the library keeps a snapshot and a
///   `PHPersistentChangeToken`, and reads only the assets inserted/updated since
///   (`fetchPersistentChanges(since:)`); an expired token or missing details mean a full scan
///   (`ScanPlanner`). A full scan reuses the saved rows of unchanged assets, so
///   `assetResources(for:)` is called only for new or changed assets.
/// - Bytes come from the original resource through `PHAssetResourceManager`, exported to a file
///   (network access allowed: iCloud-only originals download). Exports are cached by local id +
///   modification date, bounded by bytes (`ExportCacheIndex`), and reused by hashing and upload.
/// - Sizes: PhotoKit has no public file-size API (the `fileSize` KVC key is private), so the exact
///   size comes from the export. Each scan sizes a bounded batch (`SizingBudget`, newest first)
///   and reports only sized assets; [onMoreToScan] (set to the core's `libraryChanged()`) makes
///   the core scan again for the next batch.
///
/// The core calls this on its own background threads, never on the main thread.
public final class PhotoKitPhotoLibrary: PhotoLibrary, @unchecked Sendable {
    /// Recents: the id of the pseudo-album holding every asset.
    public static let allPhotosAlbumId = "shoebox:all"

    /// Called (on a background queue) when a scan left assets to size: the core should scan again.
    public var onMoreToScan: (() -> Void)?

    private let stateDir: URL
    private let exportDir: URL
    private let scanLock = NSLock()
    private var snapshot: LibrarySnapshot?
    private var sizingFailed: [String: Date] = [:]

    private let cacheLock = NSLock()
    private var cache: ExportCacheIndex
    private var pinned: [ExportKey: Int] = [:]

    /// [stateDir]: Application Support (the snapshot and the export index live there).
    /// [exportBudgetBytes]: disk for cached exports (default 2 GiB).
    public init(stateDir: URL, exportBudgetBytes: UInt64 = 2 << 30) {
        self.stateDir = stateDir
        self.exportDir = FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask)[0].appendingPathComponent("shoebox-export")
        try? FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(at: exportDir, withIntermediateDirectories: true)
        let saved = (try? Data(contentsOf: stateDir.appendingPathComponent("export-index.json")))
            .flatMap { try? JSONDecoder().decode(ExportCacheIndex.self, from: $0) }
        var index = saved ?? ExportCacheIndex(budgetBytes: exportBudgetBytes)
        index.budgetBytes = exportBudgetBytes
        self.cache = index
    }

    // MARK: albums and assets

    private func requireAccess() throws {
        let status = PHPhotoLibrary.authorizationStatus(for: .readWrite)
        guard status == .authorized || status == .limited else {
            throw PhotoLibraryError.Unavailable(reason: "no permission to read the photo library (status \(status.rawValue))")
        }
    }

    private func collections() -> [PHAssetCollection] {
        var out: [PHAssetCollection] = []
        for type in [PHAssetCollectionType.album, .smartAlbum] {
            PHAssetCollection.fetchAssetCollections(with: type, subtype: .any, options: nil)
                .enumerateObjects { c, _, _ in
                    // Skip the smart albums that are views over everything or nothing useful.
                    if [.smartAlbumAllHidden, .smartAlbumRecentlyAdded, .smartAlbumUserLibrary].contains(c.assetCollectionSubtype) { return }
                    // Shared albums hold other people's photos.
                    if c.assetCollectionSubtype == .albumCloudShared { return }
                    out.append(c)
                }
        }
        return out
    }

    public func albums() throws -> [Album] {
        try requireAccess()
        var albums = [Album(id: Self.allPhotosAlbumId, name: "Recents")]
        for c in collections() {
            albums.append(Album(id: c.localIdentifier, name: c.localizedTitle ?? "Album"))
        }
        return albums
    }

    private static func fetchOptions() -> PHFetchOptions {
        let options = PHFetchOptions()
        var sources: PHAssetSourceType = []
        for s in AssetSourcePolicy.included {
            switch s {
            case .userLibrary: sources.insert(.typeUserLibrary)
            case .cloudShared: sources.insert(.typeCloudShared)
            case .iTunesSynced: sources.insert(.typeiTunesSynced)
            }
        }
        options.includeAssetSourceTypes = sources
        return options
    }

    /// asset id → album ids (without Recents).
    private func membership() -> [String: [String]] {
        var out: [String: [String]] = [:]
        for c in collections() {
            PHAsset.fetchAssets(in: c, options: nil).enumerateObjects { a, _, _ in
                out[a.localIdentifier, default: []].append(c.localIdentifier)
            }
        }
        return out
    }

    private static func millis(_ d: Date?) -> Int64 { Int64((d ?? Date(timeIntervalSince1970: 0)).timeIntervalSince1970 * 1000) }

    private static func modifiedMs(_ a: PHAsset) -> Int64 { millis(a.modificationDate ?? a.creationDate) }

    /// A row for [a]; reuses [old] (no `assetResources` call) when the asset did not change.
    private static func row(_ a: PHAsset, albums: [String], old: AssetRow?) -> AssetRow? {
        guard a.mediaType == .image || a.mediaType == .video else { return nil }
        let modified = modifiedMs(a)
        let created = a.creationDate.map { millis($0) } ?? modified
        if var old, old.modifiedMs == modified {
            old.albumIds = albums
            return old
        }
        guard let resource = original(of: a) else { return nil }
        return AssetRow(localId: a.localIdentifier, fileName: resource.originalFilename, size: old?.size,
                        modifiedMs: modified, createdMs: created, video: a.mediaType == .video, albumIds: albums)
    }

    public func assets() throws -> [LocalAsset] {
        try requireAccess()
        scanLock.lock()
        defer { scanLock.unlock() }
        var snap = snapshot ?? loadSnapshot()

        // The token is read BEFORE the changes are fetched: a photo added meanwhile is seen again
        // next time (merging is idempotent), never missed.
        var newToken: Data?
        let plan: ScanPlan
        if #available(iOS 16, *) {
            newToken = try? NSKeyedArchiver.archivedData(withRootObject: PHPhotoLibrary.shared().currentChangeToken, requiringSecureCoding: true)
            let saved = snap.token.flatMap { try? NSKeyedUnarchiver.unarchivedObject(ofClass: PHPersistentChangeToken.self, from: $0) }
            plan = ScanPlanner.plan(available: true, hasSnapshot: saved != nil, fetch: saved.map(Self.changes(since:)))
        } else {
            plan = ScanPlanner.plan(available: false, hasSnapshot: false, fetch: nil)
        }

        switch plan {
        case .full:
            let member = membership()
            var rows: [String: AssetRow] = [:]
            PHAsset.fetchAssets(with: Self.fetchOptions()).enumerateObjects { a, _, _ in
                let id = a.localIdentifier
                if let r = Self.row(a, albums: [Self.allPhotosAlbumId] + (member[id] ?? []), old: snap.rows[id]) { rows[id] = r }
            }
            snap = LibrarySnapshot(token: newToken, rows: rows)
        case let .incremental(changed, deleted, membershipChanged):
            let member = membershipChanged ? membership() : nil
            var fetched: [AssetRow] = []
            if !changed.isEmpty {
                PHAsset.fetchAssets(withLocalIdentifiers: Array(changed), options: Self.fetchOptions()).enumerateObjects { a, _, _ in
                    let id = a.localIdentifier
                    let old = snap.rows[id]
                    let albums = member.map { [Self.allPhotosAlbumId] + ($0[id] ?? []) } ?? old?.albumIds ?? [Self.allPhotosAlbumId]
                    // Changed means changed: re-read the resource even if the date looks the same.
                    var stale = old
                    stale?.modifiedMs = Int64.min
                    if var r = Self.row(a, albums: albums, old: stale) {
                        r.size = r.size ?? old?.size
                        fetched.append(r)
                    }
                }
            }
            snap = snap.merge(changed: changed, deleted: deleted, fetched: fetched,
                              membership: member, baseAlbums: [Self.allPhotosAlbumId], token: newToken)
        }

        // Learn the sizes of a bounded batch of new assets (the exports stay in the cache for
        // hashing and upload).
        let started = Date()
        var sized = 0
        let retryAfter: TimeInterval = 3600
        let todo = snap.unsized().filter { id in sizingFailed[id].map { Date().timeIntervalSince($0) > retryAfter } ?? true }
        for id in todo where SizingBudget.shouldContinue(sized: sized, elapsed: Date().timeIntervalSince(started)) {
            guard let row = snap.rows[id] else { continue }
            do {
                let (url, key) = try exportedFile(id, expectedModifiedMs: row.modifiedMs)
                defer { unpin(key) }
                let bytes = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
                snap.rows[id]?.size = bytes?.uint64Value
                sized += 1
            } catch PhotoLibraryError.Vanished {
                snap.rows.removeValue(forKey: id)
            } catch {
                sizingFailed[id] = Date()
            }
        }
        snapshot = snap
        saveSnapshot(snap)
        let left = snap.unsized().filter { sizingFailed[$0] == nil }.count
        if sized > 0, SizingBudget.moreToCome(unsizedLeft: left), let more = onMoreToScan {
            DispatchQueue.global(qos: .utility).async { more() }
        }
        return snap.reportable().map { r in
            LocalAsset(localId: r.localId, fileName: r.fileName, albumIds: r.albumIds, size: r.size ?? 0,
                       modifiedMs: r.modifiedMs, createdMs: r.createdMs, mediaType: r.video ? .video : .image)
        }
    }

    @available(iOS 16, *)
    private static func changes(since token: PHPersistentChangeToken) -> ChangeFetch {
        do {
            let result = try PHPhotoLibrary.shared().fetchPersistentChanges(since: token)
            var inserted = Set<String>(), updated = Set<String>(), deleted = Set<String>()
            var collections = false
            for change in result {
                let a = try change.changeDetails(for: .asset)
                inserted.formUnion(a.insertedLocalIdentifiers)
                updated.formUnion(a.updatedLocalIdentifiers)
                deleted.formUnion(a.deletedLocalIdentifiers)
                let c = try change.changeDetails(for: .assetCollection)
                if !c.insertedLocalIdentifiers.isEmpty || !c.updatedLocalIdentifiers.isEmpty || !c.deletedLocalIdentifiers.isEmpty {
                    collections = true
                }
            }
            return .changes(inserted: inserted, updated: updated, deleted: deleted, collectionsChanged: collections)
        } catch let e as PHPhotosError where e.code == .persistentChangeTokenExpired {
            return .tokenExpired
        } catch let e as PHPhotosError where e.code == .persistentChangeDetailsUnavailable {
            return .detailsUnavailable
        } catch {
            return .failed
        }
    }

    public func stat(localId: String) throws -> AssetStat? {
        try requireAccess()
        guard let a = PHAsset.fetchAssets(withLocalIdentifiers: [localId], options: nil).firstObject else { return nil }
        let modified = Self.modifiedMs(a)
        scanLock.lock()
        let known = snapshot?.rows[localId]?.size
        scanLock.unlock()
        if let known { return AssetStat(size: known, modifiedMs: modified) }
        let (url, key) = try exportedFile(localId, expectedModifiedMs: modified)
        defer { unpin(key) }
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        return AssetStat(size: size, modifiedMs: modified)
    }

    public func read(localId: String, offset: UInt64, len: UInt32) throws -> Data {
        let (url, key) = try exportedFile(localId, expectedModifiedMs: nil)
        defer { unpin(key) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return try handle.read(upToCount: Int(len)) ?? Data()
    }

    /// The original (unedited) photo or video resource (`ResourcePick`).
    static func original(of asset: PHAsset) -> PHAssetResource? {
        let resources = PHAssetResource.assetResources(for: asset)
        let kinds: [ResourceKind] = resources.map {
            switch $0.type {
            case .photo: return .photo
            case .fullSizePhoto: return .fullSizePhoto
            case .video: return .video
            case .fullSizeVideo: return .fullSizeVideo
            case .pairedVideo: return .pairedVideo
            case .alternatePhoto: return .alternatePhoto
            case .adjustmentData: return .adjustmentData
            default: return .other
            }
        }
        return ResourcePick.original(isVideo: asset.mediaType == .video, kinds: kinds).map { resources[$0] }
    }

    // MARK: export cache

    private func unpin(_ key: ExportKey) {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let n = pinned[key] { pinned[key] = n > 1 ? n - 1 : nil }
    }

    /// The asset's original in the export cache (exporting it, downloading from iCloud if
    /// needed), pinned until [unpin]. [expectedModifiedMs] saves a fetch when the caller knows it.
    private func exportedFile(_ localId: String, expectedModifiedMs: Int64?) throws -> (URL, ExportKey) {
        guard let asset = PHAsset.fetchAssets(withLocalIdentifiers: [localId], options: nil).firstObject else {
            throw PhotoLibraryError.Vanished(localId: localId)
        }
        let key = ExportKey(localId: localId, modifiedMs: expectedModifiedMs ?? Self.modifiedMs(asset))
        let url = exportDir.appendingPathComponent(key.fileName)
        cacheLock.lock()
        if FileManager.default.fileExists(atPath: url.path), cache.touch(key, now: Date().timeIntervalSince1970) {
            pinned[key, default: 0] += 1
            cacheLock.unlock()
            return (url, key)
        }
        cache.remove(key)
        cacheLock.unlock()

        guard let resource = Self.original(of: asset) else {
            throw PhotoLibraryError.Unreadable(localId: localId, reason: "the asset has no original resource")
        }
        let partial = exportDir.appendingPathComponent(key.fileName + ".partial")
        try? FileManager.default.removeItem(at: partial)
        let options = PHAssetResourceRequestOptions()
        options.isNetworkAccessAllowed = true // iCloud-only originals ("Optimize iPhone Storage")
        let done = DispatchSemaphore(value: 0)
        var failure: Error?
        PHAssetResourceManager.default().writeData(for: resource, toFile: partial, options: options) { error in
            failure = error
            done.signal()
        }
        // Called on the core's blocking thread, so waiting here is fine.
        if done.wait(timeout: .now() + 600) == .timedOut {
            throw PhotoLibraryError.Unreadable(localId: localId, reason: "iCloud download timed out")
        }
        if let failure {
            try? FileManager.default.removeItem(at: partial)
            throw PhotoLibraryError.Unreadable(localId: localId, reason: failure.localizedDescription)
        }
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: partial, to: url)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0

        cacheLock.lock()
        let evicted = cache.insert(key, bytes: bytes, now: Date().timeIntervalSince1970, pinned: Set(pinned.keys))
        pinned[key, default: 0] += 1
        let index = try? JSONEncoder().encode(cache)
        cacheLock.unlock()
        for k in evicted { try? FileManager.default.removeItem(at: exportDir.appendingPathComponent(k.fileName)) }
        if let index { try? index.write(to: stateDir.appendingPathComponent("export-index.json"), options: .atomic) }
        return (url, key)
    }

    // MARK: snapshot

    private var snapshotURL: URL { stateDir.appendingPathComponent("photokit-snapshot.json") }

    private func loadSnapshot() -> LibrarySnapshot {
        (try? Data(contentsOf: snapshotURL)).flatMap { try? JSONDecoder().decode(LibrarySnapshot.self, from: $0) } ?? LibrarySnapshot()
    }

    private func saveSnapshot(_ s: LibrarySnapshot) {
        if let data = try? JSONEncoder().encode(s) { try? data.write(to: snapshotURL, options: .atomic) }
    }
}
