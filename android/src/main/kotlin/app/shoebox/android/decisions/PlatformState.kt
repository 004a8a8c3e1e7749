package app.shoebox.android.decisions

/**
 * The default network's capabilities as plain booleans (from `NetworkCapabilities`:
 * `hasTransport(TRANSPORT_WIFI/CELLULAR/ETHERNET/VPN)`, `hasCapability(NET_CAPABILITY_NOT_METERED)`,
 * `hasCapability(NET_CAPABILITY_VALIDATED)`). A VPN network carries the transports of the
 * networks under it (Android 9+), so "VPN over Wi-Fi" is `vpn = true, wifi = true`.
 */
data class NetworkCaps(
    val wifi: Boolean,
    val cellular: Boolean,
    val notMetered: Boolean,
    val validated: Boolean,
    val ethernet: Boolean = false,
    val vpn: Boolean = false,
)

/** Mirror of the core's `NetworkKind`. */
enum class NetKind { WIFI, CELLULAR, OTHER, NONE }

/** Mirror of the core's `NetworkState`. */
data class CoreNetwork(val kind: NetKind, val metered: Boolean)

/** Mirror of the core's `PowerState`. */
data class CorePower(val charging: Boolean, val lowPower: Boolean)

object NetworkDecisions {
    val NONE = CoreNetwork(NetKind.NONE, metered = false)

    /**
     * Maps the default network to what the core should know:
     * - no default network, or one Android has not VALIDATED (captive portal, no internet
     *   behind the access point; NET_CAPABILITY_INTERNET only says it *should* have internet) → NONE;
     * - any cellular transport (also a VPN over cellular, or over Wi-Fi *and* cellular) →
     *   CELLULAR, metered: bytes may go over the mobile network;
     * - Wi-Fi → WIFI, metered unless NOT_METERED (a phone hotspot is metered Wi-Fi);
     * - ethernet, or a VPN whose underlying network is unknown → OTHER, metered unless NOT_METERED.
     */
    fun stateOf(caps: NetworkCaps?): CoreNetwork {
        if (caps == null || !caps.validated) return NONE
        return when {
            caps.cellular -> CoreNetwork(NetKind.CELLULAR, metered = true)
            caps.wifi -> CoreNetwork(NetKind.WIFI, metered = !caps.notMetered)
            else -> CoreNetwork(NetKind.OTHER, metered = !caps.notMetered)
        }
    }
}

object PowerDecisions {
    /** `BatteryManager.BATTERY_STATUS_CHARGING` / `_FULL` (values fixed by the platform). */
    const val STATUS_CHARGING = 2
    const val STATUS_FULL = 5

    /**
     * Charging when plugged into anything (`EXTRA_PLUGGED != 0`) or the status says charging/full;
     * [batteryIntentMissing] (no sticky battery broadcast: emulators, some TV boxes) counts as
     * mains power. Battery saver is reported as low power.
     */
    fun stateOf(plugged: Int, status: Int, powerSave: Boolean, batteryIntentMissing: Boolean = false): CorePower {
        val charging = batteryIntentMissing || plugged != 0 || status == STATUS_CHARGING || status == STATUS_FULL
        return CorePower(charging = charging, lowPower = powerSave)
    }
}
