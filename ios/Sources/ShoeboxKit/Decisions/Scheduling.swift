import Foundation

/// How the background `URLSession` is configured, from the user's settings.
public struct SessionPolicy: Equatable, Sendable {
    public var identifier: String
    /// false: the uploads were asked for; iOS must not postpone them to "a better time".
    public var isDiscretionary: Bool
    public var sessionSendsLaunchEvents: Bool
    /// Cellular and hotspots; false when "Wi-Fi only" is on.
    public var allowsExpensiveNetworkAccess: Bool
    /// Low Data Mode; false when "Wi-Fi only" is on.
    public var allowsConstrainedNetworkAccess: Bool

    public static let identifier = "app.shoebox.upload"

    public static func forSettings(wifiOnly: Bool) -> SessionPolicy {
        SessionPolicy(
            identifier: identifier,
            isDiscretionary: false,
            sessionSendsLaunchEvents: true,
            allowsExpensiveNetworkAccess: !wifiOnly,
            allowsConstrainedNetworkAccess: !wifiOnly
        )
    }

    /// A background session's configuration is fixed: a settings change needs a new session
    /// (after the old one finished its tasks: `finishTasksAndInvalidate`).
    public static func needsNewSession(current: SessionPolicy?, wanted: SessionPolicy) -> Bool {
        current != wanted
    }
}

public struct ProcessingPlan: Equatable, Sendable {
    public var requiresNetworkConnectivity: Bool
    public var requiresExternalPower: Bool
    public var earliestBeginAfter: TimeInterval
    public var budgetSeconds: UInt64
}

public enum BackgroundPlanner {
    public static let processingId = "app.shoebox.backup.processing"
    public static let refreshId = "app.shoebox.backup.refresh"

    /// BGProcessingTask: external power when "charging only" is on (iOS then runs it on the charger).
    public static func processing(chargingOnly: Bool) -> ProcessingPlan {
        ProcessingPlan(requiresNetworkConnectivity: true, requiresExternalPower: chargingOnly, earliestBeginAfter: 15 * 60, budgetSeconds: 25 * 60)
    }

    /// BGAppRefreshTask: ~30 s of wall time; the pass itself stays well below.
    public static let refreshBudgetSeconds: UInt64 = 25
    public static let refreshEarliestBeginAfter: TimeInterval = 30 * 60

    /// How many requests to hand the background session at once: enough to keep it busy while
    /// the app is suspended, few enough that a Wi-Fi-only pause does not strand many.
    public static let transferBatch: UInt32 = 4

    /// Ask the core for more background transfers when fewer than this are in flight.
    public static func refill(inFlight: Int) -> UInt32 {
        inFlight >= Int(transferBatch) ? 0 : transferBatch - UInt32(inFlight)
    }
}

/// Leaving the foreground: `beginBackgroundTask` keeps the app alive while the current chunk
/// finishes; the run is cancelled (acknowledged bytes are kept) when iOS calls the expiration
/// handler or when the remaining time drops below [cancelMargin], whichever comes first.
public enum BackgroundGrace {
    public static let cancelMargin: TimeInterval = 5

    /// Seconds to wait before cancelling the foreground run, given `backgroundTimeRemaining`.
    public static func cancelAfter(remaining: TimeInterval) -> TimeInterval {
        if !remaining.isFinite { return 30 } // still in the foreground per UIKit: a bounded grace anyway
        return max(0, remaining - cancelMargin)
    }
}

/// The outcome of one background upload task, as `backgroundTransferFinished` wants it.
public enum TransferOutcome {
    /// 0 = failed or lost (transport error, cancelled, no HTTP response); the HTTP status otherwise,
    /// also for 4xx/5xx: the core reads the server's answer.
    public static func status(httpStatus: Int?, transportError: Bool) -> UInt16 {
        guard !transportError, let s = httpStatus, (100...999).contains(s) else { return 0 }
        return UInt16(s)
    }

    /// Response headers as name/value pairs (sorted by name, so the order is stable).
    public static func headers(_ fields: [AnyHashable: Any]) -> [(name: String, value: String)] {
        fields.compactMap { k, v -> (name: String, value: String)? in
            guard let name = k as? String else { return nil }
            return (name: name, value: "\(v)")
        }
        .sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    /// Transfers whose body file is spooled but whose task the session no longer has (the app
    /// was killed, the session was reset): report them lost (status 0) so the core resends.
    public static func orphans(spooled: Set<String>, liveTasks: Set<String>) -> [String] {
        spooled.subtracting(liveTasks).sorted()
    }
}

/// Body files of background transfers are named after the transfer id (hex, reversible), so
/// they can be matched with the session's tasks after a relaunch.
public enum SpoolName {
    public static func file(for id: String) -> String {
        Array(id.utf8).map { String(format: "%02x", $0) }.joined() + ".body"
    }

    public static func id(fromFile name: String) -> String? {
        guard name.hasSuffix(".body") else { return nil }
        let hex = Array(name.dropLast(5))
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var i = 0
        while i < hex.count {
            guard let b = UInt8(String(hex[i..<i + 2]), radix: 16) else { return nil }
            bytes.append(b)
            i += 2
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}

/// Mirror of the core's `StopReason` (nil: the run completed).
public enum StopKind: Equatable, Sendable { case deadline, cancelled, paused }

public enum TaskOutcome {
    /// `setTaskCompleted(success:)` for a background pass: done, or out of time with the queue
    /// consistent, is a success; paused or cancelled (iOS expired the task) is not, so iOS
    /// schedules it again sooner.
    public static func success(stopped: StopKind?) -> Bool {
        switch stopped {
        case .none, .deadline?: return true
        case .paused?, .cancelled?: return false
        }
    }
}
