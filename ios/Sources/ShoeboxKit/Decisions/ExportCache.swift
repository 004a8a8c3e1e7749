import Foundation

/// An exported original is identified by the asset and its modification date: a newer edit or
/// metadata change gets a new file, an unchanged asset reuses the one on disk.
public struct ExportKey: Hashable, Codable, Sendable {
    public var localId: String
    public var modifiedMs: Int64

    public init(localId: String, modifiedMs: Int64) {
        self.localId = localId
        self.modifiedMs = modifiedMs
    }

    /// A file name safe for any local identifier ("ABC-123/L0/001" has slashes).
    public var fileName: String {
        Array("\(localId)@\(modifiedMs)".utf8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Which exported originals to keep: least recently used first out, bounded by bytes. The
/// core hashes every new file first and uploads afterwards; with the cache both read the same
/// export (the old one-file cache exported every original twice). Entries being read are pinned.
public struct ExportCacheIndex: Codable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var bytes: UInt64
        public var lastUse: Double
    }

    public var budgetBytes: UInt64
    public private(set) var entries: [ExportKey: Entry] = [:]

    public init(budgetBytes: UInt64) {
        self.budgetBytes = budgetBytes
    }

    public var usedBytes: UInt64 { entries.values.reduce(0) { $0 + $1.bytes } }

    /// Marks a hit; false when the key is not cached.
    public mutating func touch(_ key: ExportKey, now: Double) -> Bool {
        guard entries[key] != nil else { return false }
        entries[key]!.lastUse = now
        return true
    }

    /// Records a new export and returns the keys whose files must be deleted: older versions of
    /// the same asset, then the least recently used until the total fits the budget. The new
    /// entry and [pinned] ones are never evicted (a file larger than the whole budget stays
    /// until the next insert).
    public mutating func insert(_ key: ExportKey, bytes: UInt64, now: Double, pinned: Set<ExportKey> = []) -> [ExportKey] {
        var evicted = entries.keys.filter { $0.localId == key.localId && $0 != key }
        for k in evicted { entries.removeValue(forKey: k) }
        entries[key] = Entry(bytes: bytes, lastUse: now)
        var used = usedBytes
        let candidates = entries
            .filter { $0.key != key && !pinned.contains($0.key) }
            .sorted { ($0.value.lastUse, $0.key.fileName) < ($1.value.lastUse, $1.key.fileName) }
        for (k, e) in candidates where used > budgetBytes {
            entries.removeValue(forKey: k)
            used -= e.bytes
            evicted.append(k)
        }
        return evicted
    }

    /// Forget an entry whose file disappeared (the OS purges temp/cache directories).
    public mutating func remove(_ key: ExportKey) {
        entries.removeValue(forKey: key)
    }
}
