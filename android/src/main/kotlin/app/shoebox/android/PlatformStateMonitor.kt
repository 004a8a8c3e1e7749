package app.shoebox.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.PowerManager
import androidx.core.content.ContextCompat
import app.shoebox.android.decisions.NetworkCaps
import app.shoebox.android.decisions.NetworkDecisions
import app.shoebox.android.decisions.PowerDecisions
import app.shoebox.core.Shoebox

/**
 * Pushes the device's network and power state into the core, which pauses a "Wi-Fi only" or
 * "charging only" backup at the next chunk boundary and resumes it when the condition holds again.
 * The core treats state it was never told as "not allowed" (`PauseReason.STATE_UNKNOWN`), so
 * [start] pushes both synchronously before it returns; start it before any run.
 *
 * The mapping (VALIDATED required, cellular = metered cellular, VPNs by their underlying
 * transport, ...) is `NetworkDecisions` / `PowerDecisions`; this class only reads the platform.
 */
class PlatformStateMonitor(context: Context, private val shoebox: Shoebox) {
    private val app = context.applicationContext
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)
    private val power = app.getSystemService(PowerManager::class.java)
    private var started = false

    private val networkCallback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) =
            shoebox.setNetwork(NetworkDecisions.stateOf(capsOf(caps)).toCore())

        override fun onLost(network: Network) = shoebox.setNetwork(NetworkDecisions.NONE.toCore())
    }

    private val powerReceiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) = pushPower()
    }

    fun start() {
        if (started) return
        started = true
        pushNetwork()
        pushPower()
        connectivity.registerDefaultNetworkCallback(networkCallback)
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_POWER_CONNECTED)
            addAction(Intent.ACTION_POWER_DISCONNECTED)
            addAction(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED)
        }
        ContextCompat.registerReceiver(app, powerReceiver, filter, ContextCompat.RECEIVER_NOT_EXPORTED)
    }

    fun stop() {
        if (!started) return
        started = false
        runCatching { connectivity.unregisterNetworkCallback(networkCallback) }
        runCatching { app.unregisterReceiver(powerReceiver) }
    }

    /** Reads the current default network and pushes it. */
    fun pushNetwork() {
        val caps = connectivity.activeNetwork?.let { connectivity.getNetworkCapabilities(it) }
        shoebox.setNetwork(NetworkDecisions.stateOf(caps?.let(::capsOf)).toCore())
    }

    /** Reads charging (sticky ACTION_BATTERY_CHANGED) and battery saver, and pushes them. */
    fun pushPower() {
        val battery = app.registerReceiver(null, IntentFilter(Intent.ACTION_BATTERY_CHANGED))
        val state = PowerDecisions.stateOf(
            plugged = battery?.getIntExtra(BatteryManager.EXTRA_PLUGGED, 0) ?: 0,
            status = battery?.getIntExtra(BatteryManager.EXTRA_STATUS, 0) ?: 0,
            powerSave = power.isPowerSaveMode,
            batteryIntentMissing = battery == null,
        )
        shoebox.setPower(state.toCore())
    }

    companion object {
        fun capsOf(c: NetworkCapabilities) = NetworkCaps(
            wifi = c.hasTransport(NetworkCapabilities.TRANSPORT_WIFI),
            cellular = c.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR),
            notMetered = c.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED),
            validated = c.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED),
            ethernet = c.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET),
            vpn = c.hasTransport(NetworkCapabilities.TRANSPORT_VPN),
        )
    }
}
