package app.shoebox.android

import android.content.Context
import android.content.SharedPreferences
import android.provider.Settings.Secure
import android.util.Log
import app.shoebox.android.decisions.CredentialAction
import app.shoebox.android.decisions.CredentialDecisions
import app.shoebox.android.decisions.SealedSecret
import app.shoebox.core.ProgressObserver
import app.shoebox.core.Shoebox
import app.shoebox.core.ShoeboxConfig
import java.io.File

/**
 * The process-wide `Shoebox`. [configure] takes the server URL and the API key from `login()`;
 * the key is stored sealed with an AndroidKeyStore AES-GCM key ([KeystoreSecrets]), never in
 * plain text (a plain key left by an older version is sealed and deleted on first load). Workers
 * get the instance with [get]. Progress goes to a [ProgressFanOut] so the UI and the worker's
 * notification can both listen.
 */
object ShoeboxHolder {
    @Volatile private var instance: Shoebox? = null
    @Volatile private var configured: Pair<String, String>? = null
    private val secrets = KeystoreSecrets()
    val progress = ProgressFanOut()

    /** Sets (or replaces, after a new login) the server and key. */
    @Synchronized
    fun configure(context: Context, serverUrl: String, apiKey: String) {
        if (configured == serverUrl to apiKey && instance != null) return
        instance?.close()
        instance = open(context, serverUrl, apiKey)
        configured = serverUrl to apiKey
        prefs(context).edit()
            .putString(URL, serverUrl)
            .putString(SEALED_KEY, secrets.seal(apiKey).encode())
            .remove(LEGACY_PLAIN_KEY)
            .apply()
    }

    /** Logs out on this device: closes the instance, forgets the key, cancels all work. */
    @Synchronized
    fun forget(context: Context) {
        instance?.close()
        instance = null
        configured = null
        prefs(context).edit().clear().apply()
        secrets.forget()
        BackupScheduler.loggedOut(context)
    }

    /** The instance if it is already open (no disk access). */
    fun peek(): Shoebox? = instance

    /** The instance, reopened from the saved settings after a process restart; null before login. */
    @Synchronized
    fun get(context: Context): Shoebox? {
        instance?.let { return it }
        val prefs = prefs(context)
        val url = prefs.getString(URL, null) ?: return null
        val key = loadKey(prefs) ?: return null
        return open(context, url, key).also { instance = it; configured = url to key }
    }

    private fun loadKey(prefs: SharedPreferences): String? {
        val plain = prefs.getString(LEGACY_PLAIN_KEY, null)
        val sealedText = prefs.getString(SEALED_KEY, null)
        return when (CredentialDecisions.onLoad(plain != null, sealedText)) {
            CredentialAction.NONE -> null
            CredentialAction.MIGRATE_PLAIN -> {
                val key = plain!!
                prefs.edit().putString(SEALED_KEY, secrets.seal(key).encode()).commit()
                prefs.edit().remove(LEGACY_PLAIN_KEY).commit()
                key
            }
            CredentialAction.USE_SEALED, CredentialAction.USE_SEALED_DROP_PLAIN -> {
                if (plain != null) prefs.edit().remove(LEGACY_PLAIN_KEY).commit()
                try {
                    secrets.open(SealedSecret.decode(sealedText)!!)
                } catch (e: Exception) {
                    // The Keystore key is gone (restored onto another phone, credentials cleared):
                    // the app has to log in again. Never crash a background worker over it.
                    Log.w("Shoebox", "stored API key cannot be decrypted; log in again", e)
                    if (CredentialDecisions.ON_DECRYPT_FAILURE_FORGET) prefs.edit().remove(SEALED_KEY).commit()
                    null
                }
            }
        }
    }

    private fun open(context: Context, serverUrl: String, apiKey: String): Shoebox {
        val app = context.applicationContext
        val deviceId = Secure.getString(app.contentResolver, Secure.ANDROID_ID) ?: "android"
        val stateDir = File(app.filesDir, "shoebox")
        return Shoebox(
            ShoeboxConfig(
                serverUrl = serverUrl,
                apiKey = apiKey,
                stateDir = stateDir.path,
                deviceId = deviceId,
                thumbnailCacheBytes = null,
            ),
            MediaStorePhotoLibrary(app, File(stateDir, "mediastore-snapshot")),
            progress,
        )
    }

    private fun prefs(context: Context) = context.applicationContext.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    private const val PREFS = "shoebox"
    private const val URL = "server_url"
    private const val SEALED_KEY = "api_key_sealed"
    /** Where versions before the Keystore change kept the key in plain text. */
    private const val LEGACY_PLAIN_KEY = "api_key"
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
