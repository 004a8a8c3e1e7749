import Foundation
import ShoeboxCore

/// Uploads that continue while iOS suspends the app: a background `URLSession` executes the
/// requests the core prepares (`backgroundTransfers(limit:)`), and every finished task is
/// reported back (`backgroundTransferFinished`), which is the only thing that advances an upload.
///
/// - Session (`SessionPolicy`): `isDiscretionary = false`, launch events on, cellular/hotspot
///   (`allowsExpensiveNetworkAccess`) and Low Data Mode (`allowsConstrainedNetworkAccess`) only
///   when "Wi-Fi only" is off. A settings change cancels the session's tasks (reported as lost,
///   status 0; the core resends from the server's offset) and opens a new one.
/// - Body: the asset's bytes `[offset, offset+length)` read through the app's `PhotoLibrary`
///   into a spool file named after the transfer id (`SpoolName`); `uploadTask(with:fromFile:)`;
///   the id is the task's `taskDescription`.
/// - After a relaunch, spool files without a task are reported lost (`TransferOutcome.orphans`).
/// - The app delegate passes `application(_:handleEventsForBackgroundURLSession:completionHandler:)`
///   to [handleEvents(forBackgroundURLSession:completionHandler:)].
public final class BackgroundUploader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let shoebox: Shoebox
    private let library: PhotoLibrary
    private let spoolDir: URL
    private let lock = NSLock()
    private var session: URLSession?
    private var policy: SessionPolicy?
    private var wanted: SessionPolicy?
    private var invalidating = false
    private var eventsCompletion: (() -> Void)?
    private var filling = false
    private var fillAgain = false

    public init(shoebox: Shoebox, library: PhotoLibrary, spoolDir: URL) {
        self.shoebox = shoebox
        self.library = library
        self.spoolDir = spoolDir
        try? FileManager.default.createDirectory(at: spoolDir, withIntermediateDirectories: true)
        super.init()
    }

    /// Opens (or, after a settings change, replaces) the background session.
    public func activate() {
        let want = SessionPolicy.forSettings(wifiOnly: shoebox.settings().wifiOnly)
        lock.lock()
        defer { lock.unlock() }
        wanted = want
        guard SessionPolicy.needsNewSession(current: policy, wanted: want), !invalidating else { return }
        if let old = session {
            // A background session's configuration is fixed, and only one session per
            // identifier may exist: cancel, and open the new one once the old is invalid.
            invalidating = true
            old.invalidateAndCancel()
            return
        }
        openLocked(want)
    }

    private func openLocked(_ p: SessionPolicy) {
        let config = URLSessionConfiguration.background(withIdentifier: p.identifier)
        config.isDiscretionary = p.isDiscretionary
        config.sessionSendsLaunchEvents = p.sessionSendsLaunchEvents
        config.allowsExpensiveNetworkAccess = p.allowsExpensiveNetworkAccess
        config.allowsConstrainedNetworkAccess = p.allowsConstrainedNetworkAccess
        session = URLSession(configuration: config, delegate: self, delegateQueue: nil)
        policy = p
    }

    private func currentSession() -> URLSession? {
        lock.lock()
        defer { lock.unlock() }
        return invalidating ? nil : session
    }

    /// iOS relaunched (or woke) the app for the session's events.
    public func handleEvents(forBackgroundURLSession identifier: String, completionHandler: @escaping () -> Void) {
        guard identifier == SessionPolicy.identifier else { return }
        lock.lock()
        eventsCompletion = completionHandler
        lock.unlock()
        activate() // reconnects the delegate; the events arrive in urlSession(_:task:didCompleteWithError:)
    }

    /// Reports lost transfers, then asks the core for more requests until the session has a
    /// batch in flight. The core returns none while its policy forbids the network. Calls are
    /// serialised (a concurrent call makes the running one go round again), so a transfer being
    /// enqueued is never mistaken for an orphan.
    public func fill() async {
        guard beginFill() else { return }
        repeat {
            await fillOnce()
        } while fillGoesAgain()
    }

    private func beginFill() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if filling {
            fillAgain = true
            return false
        }
        filling = true
        return true
    }

    private func fillGoesAgain() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let again = fillAgain
        fillAgain = false
        if !again { filling = false }
        return again
    }

    private func fillOnce() async {
        guard let session = currentSession() else { return }
        let tasks = await session.allTasks
        let live = Set(tasks.filter { $0.state == .running || $0.state == .suspended }.compactMap(\.taskDescription))
        for id in TransferOutcome.orphans(spooled: spooledIds(), liveTasks: live) {
            finish(id: id, status: 0, headers: [])
        }
        let want = BackgroundPlanner.refill(inFlight: live.count)
        guard want > 0 else { return }
        let transfers: [BackgroundTransfer]
        do {
            transfers = try await shoebox.backgroundTransfers(limit: want)
        } catch {
            NSLog("shoebox: no background transfers: \(error)")
            return
        }
        for t in transfers where !live.contains(t.id) {
            enqueue(t, on: session)
        }
    }

    private func spoolURL(_ id: String) -> URL { spoolDir.appendingPathComponent(SpoolName.file(for: id)) }

    private func spooledIds() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spoolDir.path)) ?? []
        return Set(names.compactMap(SpoolName.id(fromFile:)))
    }

    private func enqueue(_ t: BackgroundTransfer, on session: URLSession) {
        let file = spoolURL(t.id)
        do {
            guard let url = URL(string: t.url) else { throw URLError(.badURL) }
            try spool(t, to: file)
            var request = URLRequest(url: url)
            request.httpMethod = t.method
            for h in t.headers { request.setValue(h.value, forHTTPHeaderField: h.name) }
            let task = session.uploadTask(with: request, fromFile: file)
            task.taskDescription = t.id
            task.resume()
        } catch {
            NSLog("shoebox: cannot start background transfer \(t.id): \(error)")
            finish(id: t.id, status: 0, headers: [])
        }
    }

    /// Writes the body: [offset, offset+length) of the asset, read in 8 MiB pieces.
    private func spool(_ t: BackgroundTransfer, to file: URL) throws {
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let out = try FileHandle(forWritingTo: file)
        defer { try? out.close() }
        var done: UInt64 = 0
        while done < t.length {
            let piece = UInt32(min(t.length - done, 8 << 20))
            let data = try library.read(localId: t.localId, offset: t.offset + done, len: piece)
            if data.isEmpty { throw PhotoLibraryError.Unreadable(localId: t.localId, reason: "the file is shorter than expected") }
            try out.write(contentsOf: data)
            done += UInt64(data.count)
        }
    }

    private func finish(id: String, status: UInt16, headers: [HttpHeader]) {
        do {
            try shoebox.backgroundTransferFinished(id: id, status: status, headers: headers)
        } catch {
            NSLog("shoebox: backgroundTransferFinished(\(id)) failed: \(error)")
        }
        try? FileManager.default.removeItem(at: spoolURL(id))
    }

    // MARK: URLSessionDelegate

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let id = task.taskDescription else { return }
        let http = task.response as? HTTPURLResponse
        let status = TransferOutcome.status(httpStatus: http?.statusCode, transportError: error != nil)
        let headers = TransferOutcome.headers(http?.allHeaderFields ?? [:]).map { HttpHeader(name: $0.name, value: $0.value) }
        finish(id: id, status: status, headers: headers)
        // Keep the session busy while iOS lets the app run.
        Task { await self.fill() }
    }

    public func urlSession(_ session: URLSession, didBecomeInvalidWithError error: Error?) {
        lock.lock()
        let reopen = invalidating ? wanted : nil
        invalidating = false
        self.session = nil
        policy = nil
        if let reopen { openLocked(reopen) }
        lock.unlock()
        if reopen != nil { Task { await self.fill() } }
    }

    public func urlSessionDidFinishEvents(forBackgroundURLSession session: URLSession) {
        lock.lock()
        let done = eventsCompletion
        eventsCompletion = nil
        lock.unlock()
        DispatchQueue.main.async { done?() }
    }
}
