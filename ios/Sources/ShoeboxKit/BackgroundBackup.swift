import BackgroundTasks
import Foundation
import Photos
import ShoeboxCore
import UIKit

/// Background backup on iOS. The rules are in `Decisions/` (plain Swift); this class wires them:
///
/// - `BGProcessingTask` (`app.shoebox.backup.processing`): long passes; network required;
///   `requiresExternalPower` from "charging only" (`BackgroundPlanner.processing`).
/// - `BGAppRefreshTask` (`app.shoebox.backup.refresh`): short passes to keep up with new photos.
/// - Each pass first waits until network and power were pushed (the core treats unknown state as
///   "not allowed"), runs `runFor(seconds:)`, then hands the rest to the background URLSession
///   ([BackgroundUploader]), which keeps uploading while the app is suspended. The expiration
///   handler cancels the run (state stays consistent; uploads resume from the server's offset).
/// - Leaving the foreground during a "Back up now" run: `beginBackgroundTask` keeps the app
///   alive so the current chunk finishes; the run is cancelled shortly before the time runs out
///   (`BackgroundGrace`), then the remaining work goes to the background session.
/// - `PHPhotoLibraryChangeObserver`: tells the core (`libraryChanged()`: a running backup rescans
///   and picks the new photos up) and, in the foreground, starts a short pass (debounced).
///
/// The app must list both task identifiers under `BGTaskSchedulerPermittedIdentifiers`, enable
/// the "Background processing" and "Background fetch" modes, call [register()] before
/// `application(_:didFinishLaunchingWithOptions:)` returns, and forward
/// `application(_:handleEventsForBackgroundURLSession:completionHandler:)` to
/// [handleEventsForBackgroundURLSession(identifier:completionHandler:)].
public final class BackgroundBackup: NSObject, PHPhotoLibraryChangeObserver, @unchecked Sendable {
    public static let processingId = BackgroundPlanner.processingId
    public static let refreshId = BackgroundPlanner.refreshId

    private let shoebox: Shoebox
    private let monitor: PlatformStateMonitor
    public let uploader: BackgroundUploader
    private let lock = NSLock()
    private var foregroundRun: Task<Void, Never>?
    private var backgroundTask: UIBackgroundTaskIdentifier = .invalid
    private var kick: DispatchWorkItem?
    private var observers: [NSObjectProtocol] = []

    /// [library] is the `PhotoKitPhotoLibrary` the `Shoebox` was created with; [spoolDir] holds the
    /// bodies of background uploads (default: Application Support/shoebox-spool).
    public init(shoebox: Shoebox, library: PhotoKitPhotoLibrary, spoolDir: URL? = nil) {
        self.shoebox = shoebox
        self.monitor = PlatformStateMonitor(shoebox: shoebox)
        let dir = spoolDir ?? FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("shoebox-spool")
        self.uploader = BackgroundUploader(shoebox: shoebox, library: library, spoolDir: dir)
        super.init()
        library.onMoreToScan = { [weak shoebox] in shoebox?.libraryChanged() }
    }

    public func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.processingId, using: nil) { task in
            self.handle(task, budgetSeconds: BackgroundPlanner.processing(chargingOnly: false).budgetSeconds)
        }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.refreshId, using: nil) { task in
            self.handle(task, budgetSeconds: BackgroundPlanner.refreshBudgetSeconds)
        }
        PHPhotoLibrary.shared().register(self)
        monitor.start()
        uploader.activate()
        let center = NotificationCenter.default
        observers.append(center.addObserver(forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main) { [weak self] _ in
            self?.didEnterBackground()
        })
        Task { await uploader.fill() } // reports transfers lost while the app was not running
    }

    /// Asks iOS for the next passes (call after `register()`, after settings change, and when
    /// the app goes to the background).
    public func schedule() {
        let plan = BackgroundPlanner.processing(chargingOnly: shoebox.settings().chargingOnly)
        let processing = BGProcessingTaskRequest(identifier: Self.processingId)
        processing.requiresNetworkConnectivity = plan.requiresNetworkConnectivity
        processing.requiresExternalPower = plan.requiresExternalPower
        processing.earliestBeginDate = Date(timeIntervalSinceNow: plan.earliestBeginAfter)
        let refresh = BGAppRefreshTaskRequest(identifier: Self.refreshId)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: BackgroundPlanner.refreshEarliestBeginAfter)
        do {
            try BGTaskScheduler.shared.submit(processing)
            try BGTaskScheduler.shared.submit(refresh)
        } catch {
            NSLog("shoebox: cannot schedule background backup: \(error)")
        }
    }

    /// After `setSettings`: the URLSession's cellular/Low Data permissions and the processing
    /// task's power requirement follow the new settings.
    public func settingsChanged() {
        uploader.activate()
        schedule()
    }

    /// From the app delegate's `application(_:handleEventsForBackgroundURLSession:completionHandler:)`.
    public func handleEventsForBackgroundURLSession(identifier: String, completionHandler: @escaping () -> Void) {
        uploader.handleEvents(forBackgroundURLSession: identifier, completionHandler: completionHandler)
    }

    /// "Back up now" while the app is open: a foreground `run()` (it waits while paused).
    public func backUpNow() {
        lock.lock()
        defer { lock.unlock() }
        guard foregroundRun == nil else { return }
        foregroundRun = Task { [weak self] in
            guard let self else { return }
            await self.monitor.waitUntilReported()
            do {
                _ = try await self.shoebox.run()
            } catch {
                NSLog("shoebox: backup stopped: \(error)")
            }
            self.runEnded()
        }
    }

    private func runEnded() {
        lock.lock()
        foregroundRun = nil
        lock.unlock()
    }

    private func currentRun() -> Task<Void, Never>? {
        lock.lock()
        defer { lock.unlock() }
        return foregroundRun
    }

    // MARK: leaving the foreground

    /// On the main queue.
    private func didEnterBackground() {
        schedule()
        guard backgroundTask == .invalid else { return }
        backgroundTask = UIApplication.shared.beginBackgroundTask(withName: "shoebox: finish the current chunk") { [weak self] in
            self?.expire()
        }
        let run = currentRun()
        if run != nil {
            let after = BackgroundGrace.cancelAfter(remaining: UIApplication.shared.backgroundTimeRemaining)
            DispatchQueue.main.asyncAfter(deadline: .now() + after) { [weak self] in
                if self?.backgroundTask != .invalid { self?.shoebox.cancel() }
            }
        }
        Task { [weak self] in
            guard let self else { return }
            await run?.value // the chunk in flight finishes, or the grace timer cancels the run
            await self.monitor.waitUntilReported()
            await self.uploader.fill() // the rest goes on in the background session
            await MainActor.run { self.endBackgroundTask() }
        }
    }

    /// iOS is about to suspend the app: stop now (acknowledged bytes are kept).
    private func expire() {
        shoebox.cancel()
        endBackgroundTask()
    }

    private func endBackgroundTask() {
        guard backgroundTask != .invalid else { return }
        UIApplication.shared.endBackgroundTask(backgroundTask)
        backgroundTask = .invalid
    }

    // MARK: BGTaskScheduler

    private func handle(_ task: BGTask, budgetSeconds: UInt64) {
        schedule() // always line up the next one first
        let work = Task {
            await monitor.waitUntilReported()
            do {
                let report = try await shoebox.runFor(seconds: budgetSeconds)
                // A finished backup leaves time: refresh the offline timeline in a short window
                // (Wi-Fi only applies; a cut-off sync goes on next time).
                if report.stopped == nil { _ = try? await shoebox.syncTimelineFor(seconds: 10) }
                await uploader.fill()
                task.setTaskCompleted(success: TaskOutcome.success(stopped: Self.stopKind(report.stopped)))
            } catch {
                NSLog("shoebox: background backup failed: \(error)")
                task.setTaskCompleted(success: false)
            }
        }
        task.expirationHandler = {
            self.shoebox.cancel()
            work.cancel()
        }
    }

    static func stopKind(_ s: StopReason?) -> StopKind? {
        switch s {
        case .none: return nil
        case .deadline?: return .deadline
        case .cancelled?: return .cancelled
        case .paused?: return .paused
        }
    }

    // MARK: PHPhotoLibraryChangeObserver

    public func photoLibraryDidChange(_ changeInstance: PHChange) {
        shoebox.libraryChanged()
        DispatchQueue.main.async {
            guard UIApplication.shared.applicationState == .active, self.currentRun() == nil else { return }
            self.kick?.cancel()
            let item = DispatchWorkItem { [weak self] in self?.backUpNow() }
            self.kick = item
            DispatchQueue.main.asyncAfter(deadline: .now() + 5, execute: item)
        }
    }
}
