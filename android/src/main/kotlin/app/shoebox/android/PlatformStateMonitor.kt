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
import app.shoebox.core.NetworkKind
import app.shoebox.core.NetworkState
import app.shoebox.core.PowerState
import app.shoebox.core.Shoebox

/**
 * Pushes the device's network and power state into the core, which pauses a "Wi-Fi only" or
 * "charging only" backup at the next chunk boundary and resumes it when the condition holds again.
 *
 * Network: the default network's capabilities (`TRANSPORT_WIFI`/`CELLULAR`/`ETHERNET`, and
 * `NOT_METERED` — a metered Wi-Fi hotspot counts as metered). Power: the sticky battery broadcast
 * (plugged or not) and `PowerManager.isPowerSaveMode`.
 *
 * Start it while a backup may run (the worker does) and stop it afterwards.
 */
class PlatformStateMonitor(context: Context, private val shoebox: Shoebox) {
    private val app = context.applicationContext
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)
    private val power = app.getSystemService(PowerManager::class.java)
    private var started = false

    private val networkCallback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) = push(caps)
        override fun onLost(network: Network) = pushNetwork()
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
        if (caps == null) {
            shoebox.setNetwork(NetworkState(NetworkKind.NONE, metered = false))
        } else {
            push(caps)
        }
    }

    private fun push(caps: NetworkCapabilities) {
        shoebox.setNetwork(networkStateOf(caps))
    }

    /** Reads charging (sticky ACTION_BATTERY_CHANGED) and battery saver, and pushes them. */
    fun pushPower() {
        val battery = app.registerReceiver(null, IntentFilter(Intent.ACTION_BATTERY_CHANGED))
        val plugged = (battery?.getIntExtra(BatteryManager.EXTRA_PLUGGED, 0) ?: 0) != 0
        shoebox.setPower(PowerState(charging = plugged, lowPower = power.isPowerSaveMode))
    }

    companion object {
        fun networkStateOf(caps: NetworkCapabilities): NetworkState {
            val validated = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            val kind = when {
                !validated -> NetworkKind.NONE
                caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> NetworkKind.WIFI
                caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> NetworkKind.CELLULAR
                else -> NetworkKind.OTHER // ethernet, VPN over something unmetered, USB tethering
            }
            val metered = !caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
            return NetworkState(kind, metered)
        }
    }
}
