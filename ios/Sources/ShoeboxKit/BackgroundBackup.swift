import BackgroundTasks
import Foundation
import Photos
import ShoeboxCore

/// Background backup with BGTaskScheduler.
///
/// - `BGProcessingTask` (`app.shoebox.backup.processing`): long passes, requires network, and
///   external power when "charging only" is on; iOS runs them at night / on the charger.
/// - `BGAppRefreshTask` (`app.shoebox.backup.refresh`): short passes (~25 s) to keep up with new
///   photos during the day.
///
/// Each task calls `runFor(seconds:)`, which stops cleanly before its budget ends; the
/// expiration handler cancels the Swift Task, which cancels the Rust run (state stays
/// consistent; the upload resumes from the server's offset next time).
///
/// The app must list both identifiers under `BGTaskSchedulerPermittedIdentifiers` in Info.plist,
/// enable the "Background processing" and "Background fetch" modes, and call `register()`
/// before `application(_:didFinishLaunchingWithOptions:)` returns.
public final class BackgroundBackup: NSObject, PHPhotoLibraryChangeObserver, @unchecked Sendable {
    public static let processingId = "app.shoebox.backup.processing"
    public static let refreshId = "app.shoebox.backup.refresh"

    private let shoebox: Shoebox
    private let monitor: PlatformStateMonitor

    public init(shoebox: Shoebox) {
        self.shoebox = shoebox
        self.monitor = PlatformStateMonitor(shoebox: shoebox)
        super.init()
    }

    public func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.processingId, using: nil) { task in
            self.handle(task, budgetSeconds: 25 * 60)
        }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.refreshId, using: nil) { task in
            self.handle(task, budgetSeconds: 25)
        }
        PHPhotoLibrary.shared().register(self)
        monitor.start()
    }

    /// Asks iOS for the next passes (call after `register()`, after settings change, and when
    /// the app goes to the background).
    public func schedule() {
        let settings = shoebox.settings()
        let processing = BGProcessingTaskRequest(identifier: Self.processingId)
        processing.requiresNetworkConnectivity = true
        processing.requiresExternalPower = settings.chargingOnly
        processing.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        let refresh = BGAppRefreshTaskRequest(identifier: Self.refreshId)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: 30 * 60)
        do {
            try BGTaskScheduler.shared.submit(processing)
            try BGTaskScheduler.shared.submit(refresh)
        } catch {
            NSLog("shoebox: cannot schedule background backup: \(error)")
        }
    }

    private func handle(_ task: BGTask, budgetSeconds: UInt64) {
        schedule() // always line up the next one first
        let work = Task {
            do {
                let report = try await shoebox.runFor(seconds: budgetSeconds)
                task.setTaskCompleted(success: report.stopped == nil || report.stopped == .deadline)
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

    // MARK: PHPhotoLibraryChangeObserver

    /// New photos while the app runs: a short foreground pass (debounced by the run lock in the
    /// core: a second call waits for the first run to finish).
    public func photoLibraryDidChange(_ changeInstance: PHChange) {
        Task.detached(priority: .utility) { [shoebox] in
            _ = try? await shoebox.runFor(seconds: 60)
        }
    }
}
