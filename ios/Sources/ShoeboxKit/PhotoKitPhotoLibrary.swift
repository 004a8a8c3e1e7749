import Foundation
import Photos
import ShoeboxCore

/// The device's photos and videos through PhotoKit, as the core's foreign `PhotoLibrary`.
///
/// - Albums are user albums and smart albums (`PHAssetCollection`); an asset can be in several,
///   and the core uploads it once. Assets in no album belong to "Recents" (the user library).
/// - Local ids are `PHAsset.localIdentifier`.
/// - Bytes come from the original resource through `PHAssetResourceManager`, exported once to
///   a temp file (with network access allowed, so iCloud-only "Optimize Storage" originals are
///   downloaded), then served by offset. The export is cached for the asset being read.
///
/// The core calls this on its own background threads, never on the main thread.
public final class PhotoKitPhotoLibrary: PhotoLibrary, @unchecked Sendable {
    private let exportDir: URL
    private let lock = NSLock()
    private var exported: (id: String, url: URL)?
    /// Recents: the id of the pseudo-album holding every asset.
    public static let allPhotosAlbumId = "shoebox:all"

    public init(exportDir: URL = FileManager.default.temporaryDirectory.appendingPathComponent("shoebox-export")) {
        self.exportDir = exportDir
        try? FileManager.default.createDirectory(at: exportDir, withIntermediateDirectories: true)
    }

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

    public func assets() throws -> [LocalAsset] {
        try requireAccess()
        // asset id → album ids
        var membership: [String: [String]] = [:]
        for c in collections() {
            PHAsset.fetchAssets(in: c, options: nil).enumerateObjects { a, _, _ in
                membership[a.localIdentifier, default: []].append(c.localIdentifier)
            }
        }
        let options = PHFetchOptions()
        options.includeAssetSourceTypes = [.typeUserLibrary, .typeCloudShared, .typeiTunesSynced]
        var out: [LocalAsset] = []
        PHAsset.fetchAssets(with: options).enumerateObjects { a, _, _ in
            guard a.mediaType == .image || a.mediaType == .video else { return }
            guard let resource = Self.original(of: a) else { return }
            let size = (resource.value(forKey: "fileSize") as? NSNumber)?.uint64Value ?? 0
            let modified = a.modificationDate ?? a.creationDate ?? Date(timeIntervalSince1970: 0)
            let created = a.creationDate ?? modified
            out.append(LocalAsset(
                localId: a.localIdentifier,
                fileName: resource.originalFilename,
                albumIds: [Self.allPhotosAlbumId] + (membership[a.localIdentifier] ?? []),
                size: size,
                modifiedMs: Int64(modified.timeIntervalSince1970 * 1000),
                createdMs: Int64(created.timeIntervalSince1970 * 1000),
                mediaType: a.mediaType == .video ? .video : .image
            ))
        }
        return out
    }

    public func stat(localId: String) throws -> AssetStat? {
        try requireAccess()
        guard let a = PHAsset.fetchAssets(withLocalIdentifiers: [localId], options: nil).firstObject,
              let resource = Self.original(of: a) else { return nil }
        let size = (resource.value(forKey: "fileSize") as? NSNumber)?.uint64Value ?? 0
        let modified = a.modificationDate ?? a.creationDate ?? Date(timeIntervalSince1970: 0)
        return AssetStat(size: size, modifiedMs: Int64(modified.timeIntervalSince1970 * 1000))
    }

    public func read(localId: String, offset: UInt64, len: UInt32) throws -> Data {
        let url = try exportedFile(localId)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return try handle.read(upToCount: Int(len)) ?? Data()
    }

    /// The original (unedited) photo or video resource; edits are backed up by Immich as the
    /// original too, like the official app.
    static func original(of asset: PHAsset) -> PHAssetResource? {
        let resources = PHAssetResource.assetResources(for: asset)
        let wanted: [PHAssetResourceType] = asset.mediaType == .video ? [.video, .fullSizeVideo] : [.photo, .fullSizePhoto]
        return resources.first { wanted.contains($0.type) } ?? resources.first
    }

    /// Exports the asset's original to a temp file once, downloading from iCloud if needed.
    private func exportedFile(_ localId: String) throws -> URL {
        lock.lock(); defer { lock.unlock() }
        if let e = exported, e.id == localId, FileManager.default.fileExists(atPath: e.url.path) { return e.url }
        if let old = exported { try? FileManager.default.removeItem(at: old.url) }
        exported = nil
        guard let asset = PHAsset.fetchAssets(withLocalIdentifiers: [localId], options: nil).firstObject else {
            throw PhotoLibraryError.Vanished(localId: localId)
        }
        guard let resource = Self.original(of: asset) else {
            throw PhotoLibraryError.Unreadable(localId: localId, reason: "the asset has no original resource")
        }
        let url = exportDir.appendingPathComponent(UUID().uuidString)
        let options = PHAssetResourceRequestOptions()
        options.isNetworkAccessAllowed = true // iCloud-only originals ("Optimize iPhone Storage")
        let done = DispatchSemaphore(value: 0)
        var failure: Error?
        PHAssetResourceManager.default().writeData(for: resource, toFile: url, options: options) { error in
            failure = error
            done.signal()
        }
        // Called on the core's blocking thread, so waiting here is fine.
        if done.wait(timeout: .now() + 600) == .timedOut {
            throw PhotoLibraryError.Unreadable(localId: localId, reason: "iCloud download timed out")
        }
        if let failure {
            try? FileManager.default.removeItem(at: url)
            throw PhotoLibraryError.Unreadable(localId: localId, reason: failure.localizedDescription)
        }
        exported = (localId, url)
        return url
    }
}
