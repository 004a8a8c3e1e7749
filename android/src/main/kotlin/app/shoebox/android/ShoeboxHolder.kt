package app.shoebox.android

import android.content.Context
import android.provider.Settings.Secure
import app.shoebox.core.ProgressObserver
import app.shoebox.core.Shoebox
import app.shoebox.core.ShoeboxConfig
import java.io.File

/**
 * The process-wide `Shoebox`. The app stores the server URL and API key (from `login()`) in its
 * own encrypted storage and calls [configure] once they are known; workers get the instance
 * with [get]. Progress goes to a [ProgressFanOut] so the UI and the worker's notification can
 * both listen.
 */
object ShoeboxHolder {
    @Volatile private var instance: Shoebox? = null
    @Volatile private var configured: Pair<String, String>? = null
    val progress = ProgressFanOut()

    /** Sets (or replaces, after a new login) the server and key. */
    @Synchronized
    fun configure(context: Context, serverUrl: String, apiKey: String) {
        if (configured == serverUrl to apiKey && instance != null) return
        instance?.close()
        instance = open(context, serverUrl, apiKey)
        configured = serverUrl to apiKey
        context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).edit()
            .putString("server_url", serverUrl).putString("api_key", apiKey).apply()
    }

    /** The instance, reopened from the saved settings after a process restart; null before login. */
    @Synchronized
    fun get(context: Context): Shoebox? {
        instance?.let { return it }
        val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        val url = prefs.getString("server_url", null) ?: return null
        val key = prefs.getString("api_key", null) ?: return null
        return open(context, url, key).also { instance = it; configured = url to key }
    }

    private fun open(context: Context, serverUrl: String, apiKey: String): Shoebox {
        val app = context.applicationContext
        val deviceId = Secure.getString(app.contentResolver, Secure.ANDROID_ID) ?: "android"
        return Shoebox(
            ShoeboxConfig(
                serverUrl = serverUrl,
                apiKey = apiKey,
                stateDir = File(app.filesDir, "shoebox").path,
                deviceId = deviceId,
                thumbnailCacheBytes = null,
            ),
            MediaStorePhotoLibrary(app),
            progress,
        )
    }

    // Production apps should keep the key in EncryptedSharedPreferences / Keystore-wrapped storage.
    private const val PREFS = "shoebox"
}

/** Forwards the core's progress (on Rust threads) to any number of listeners. */
class ProgressFanOut : ProgressObserver {
    private val listeners = java.util.concurrent.CopyOnWriteArrayList<ProgressObserver>()
    fun add(l: ProgressObserver) = listeners.add(l)
    fun remove(l: ProgressObserver) = listeners.remove(l)
    override fun onProgress(progress: app.shoebox.core.Progress) =
        listeners.forEach { runCatching { it.onProgress(progress) } }
    override fun onFileFailed(failure: app.shoebox.core.FileFailure) =
        listeners.forEach { runCatching { it.onFileFailed(failure) } }
}
