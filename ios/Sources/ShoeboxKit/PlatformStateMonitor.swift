import Foundation
import Network
import ShoeboxCore
import UIKit

/// Pushes network and power state into the core, which pauses a "Wi-Fi only" or "charging only"
/// backup at the next chunk boundary and resumes it when the condition holds again.
///
/// Network: `NWPathMonitor` — Wi-Fi/wired/cellular interface, and `isExpensive` (cellular or a
/// personal hotspot) or `isConstrained` (Low Data Mode) count as metered.
/// Power: `UIDevice` battery state (charging/full) and `ProcessInfo.isLowPowerModeEnabled`.
public final class PlatformStateMonitor: @unchecked Sendable {
    private let shoebox: Shoebox
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "app.shoebox.platform-state")
    private var observers: [NSObjectProtocol] = []

    public init(shoebox: Shoebox) {
        self.shoebox = shoebox
    }

    public func start() {
        monitor.pathUpdateHandler = { [weak self] path in
            self?.shoebox.setNetwork(network: Self.networkState(path))
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

    static func networkState(_ path: NWPath) -> NetworkState {
        guard path.status == .satisfied else { return NetworkState(kind: .none, metered: false) }
        let kind: NetworkKind
        if path.usesInterfaceType(.wifi) {
            kind = .wifi
        } else if path.usesInterfaceType(.cellular) {
            kind = .cellular
        } else {
            kind = .other // wired ethernet, loopback, other
        }
        return NetworkState(kind: kind, metered: path.isExpensive || path.isConstrained)
    }

    /// Call on the main thread (UIDevice).
    func pushPower() {
        let state = UIDevice.current.batteryState
        let charging = state == .charging || state == .full
        shoebox.setPower(power: PowerState(charging: charging, lowPower: ProcessInfo.processInfo.isLowPowerModeEnabled))
    }
}
