import Foundation

// Decisions: plain Swift (Foundation only, no UIKit / Photos / BackgroundTasks / Network), so
// the rules can be read and tested without a device. The glue in ShoeboxKit maps platform
// types to these inputs and the outputs to the core's types.

/// What `NWPath` says about the current route.
public struct PathFacts: Equatable, Sendable {
    public var satisfied: Bool
    public var wifi: Bool
    public var cellular: Bool
    public var wired: Bool
    /// Cellular or a personal hotspot.
    public var expensive: Bool
    /// Low Data Mode.
    public var constrained: Bool

    public init(satisfied: Bool, wifi: Bool = false, cellular: Bool = false, wired: Bool = false, expensive: Bool = false, constrained: Bool = false) {
        self.satisfied = satisfied
        self.wifi = wifi
        self.cellular = cellular
        self.wired = wired
        self.expensive = expensive
        self.constrained = constrained
    }
}

/// Mirror of the core's `NetworkKind`.
public enum NetKind: Equatable, Sendable { case wifi, cellular, other, none }

/// Mirror of the core's `NetworkState`.
public struct CoreNetwork: Equatable, Sendable {
    public var kind: NetKind
    public var metered: Bool
}

/// Mirror of the core's `PowerState`.
public struct CorePower: Equatable, Sendable {
    public var charging: Bool
    public var lowPower: Bool
}

public enum BatteryFacts: Sendable { case unknown, unplugged, charging, full }

public enum NetworkDecisions {
    public static let none = CoreNetwork(kind: .none, metered: false)

    /// No path or an unsatisfied one → none. The interface kind comes from the path's interfaces
    /// (a VPN's path reports the interface under it); a path that could use cellular is cellular.
    /// Expensive (cellular, hotspot) or constrained (Low Data Mode) counts as metered.
    public static func state(_ p: PathFacts?) -> CoreNetwork {
        guard let p, p.satisfied else { return none }
        let kind: NetKind = p.wifi ? .wifi : (p.cellular ? .cellular : .other)
        return CoreNetwork(kind: kind, metered: p.expensive || p.constrained || kind == .cellular)
    }
}

public enum PowerDecisions {
    /// `.unknown` (battery monitoring off, simulator) counts as not charging: "charging only" is respected.
    public static func state(battery: BatteryFacts, lowPowerMode: Bool) -> CorePower {
        CorePower(charging: battery == .charging || battery == .full, lowPower: lowPowerMode)
    }
}

/// The core treats network/power it was never told as "not allowed" (`.stateUnknown`): a run
/// starts only after both were pushed once, or after [timeout] (the core then pauses and says why).
public struct StateGate: Sendable {
    public private(set) var networkReported = false
    public private(set) var powerReported = false
    public static let timeout: TimeInterval = 3

    public init() {}

    public mutating func reportedNetwork() { networkReported = true }
    public mutating func reportedPower() { powerReported = true }
    public var ready: Bool { networkReported && powerReported }
}
