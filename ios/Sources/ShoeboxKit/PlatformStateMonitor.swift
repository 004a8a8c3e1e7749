import Foundation
import Network
import ShoeboxCore
import UIKit

/// Pushes network and power state into the core, which pauses a "Wi-Fi only" or "charging only"
/// backup at the next chunk boundary and resumes it when the condition holds again. The core
/// treats state it was never told as "not allowed" (`.stateUnknown`), so every run first awaits
/// [waitUntilReported()].
///
/// The mappings are `NetworkDecisions` / `PowerDecisions`; this class only reads the platform:
/// `NWPathMonitor` (Wi-Fi/cellular/wired interfaces, `isExpensive`, `isConstrained`), the
/// `UIDevice` battery state and `ProcessInfo.isLowPowerModeEnabled`.
public final class PlatformStateMonitor: @unchecked Sendable {
    private let shoebox: Shoebox
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "app.shoebox.platform-state")
    private let lock = NSLock()
    private var gate = StateGate()
    private var started = false
    private var observers: [NSObjectProtocol] = []

    public init(shoebox: Shoebox) {
        self.shoebox = shoebox
    }

    public func start() {
        lock.lock()
        let already = started
        started = true
        lock.unlock()
        if already { return }
        monitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            self.shoebox.setNetwork(network: Self.core(NetworkDecisions.state(Self.facts(path))))
            self.lock.lock()
            self.gate.reportedNetwork()
            self.lock.unlock()
        }
        monitor.start(queue: queue)
        DispatchQueue.main.async {
            UIDevice.current.isBatteryMonitoringEnabled = true
            self.pushPower()
        }
        let center = NotificationCenter.default
        for name in [UIDevice.batteryStateDidChangeNotification, Notification.Name.NSProcessInfoPowerStateDidChange] {
            observers.append(center.addObserver(forName: name, object: nil, queue: .main) { [weak self] _ in self?.pushPower() })
        }
    }

    public func stop() {
        monitor.cancel()
        observers.forEach(NotificationCenter.default.removeObserver)
        observers.removeAll()
    }

    /// Returns once network and power were pushed at least once (or after `StateGate.timeout`;
    /// the core then pauses with `.stateUnknown` rather than guessing).
    public func waitUntilReported() async {
        start()
        let deadline = Date().addingTimeInterval(StateGate.timeout)
        while !isReady(), Date() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    private func isReady() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return gate.ready
    }

    static func facts(_ path: NWPath) -> PathFacts {
        PathFacts(
            satisfied: path.status == .satisfied,
            wifi: path.usesInterfaceType(.wifi),
            cellular: path.usesInterfaceType(.cellular),
            wired: path.usesInterfaceType(.wiredEthernet),
            expensive: path.isExpensive,
            constrained: path.isConstrained
        )
    }

    static func core(_ n: CoreNetwork) -> NetworkState {
        let kind: NetworkKind
        switch n.kind {
        case .wifi: kind = .wifi
        case .cellular: kind = .cellular
        case .other: kind = .other
        case .none: kind = .none
        }
        return NetworkState(kind: kind, metered: n.metered)
    }

    /// Call on the main thread (UIDevice).
    func pushPower() {
        let battery: BatteryFacts
        switch UIDevice.current.batteryState {
        case .charging: battery = .charging
        case .full: battery = .full
        case .unplugged: battery = .unplugged
        default: battery = .unknown
        }
        let p = PowerDecisions.state(battery: battery, lowPowerMode: ProcessInfo.processInfo.isLowPowerModeEnabled)
        shoebox.setPower(power: PowerState(charging: p.charging, lowPower: p.lowPower))
        lock.lock()
        gate.reportedPower()
        lock.unlock()
    }
}
