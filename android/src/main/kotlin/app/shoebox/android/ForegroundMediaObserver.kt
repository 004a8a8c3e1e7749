package app.shoebox.android

import android.content.Context
import android.database.ContentObserver
import android.net.Uri
import android.os.Handler
import android.os.Looper
import android.provider.MediaStore
import app.shoebox.android.decisions.Trigger

/**
 * While the app is open, a ContentObserver notices new media at once (the JobScheduler trigger
 * covers the app not running). Each change tells the core (`libraryChanged()`: a running backup
 * rescans and takes the new photos in); a burst of changes enqueues one pass (debounced, KEEP).
 */
class ForegroundMediaObserver(private val context: Context) {
    private val handler = Handler(Looper.getMainLooper())
    private val kick = Runnable {
        Thread {
            ShoeboxHolder.get(context)?.let { BackupScheduler.runNow(context, it.settings().toPrefs(), Trigger.NEW_MEDIA) }
        }.start()
    }
    private val observer = object : ContentObserver(handler) {
        override fun onChange(selfChange: Boolean, uri: Uri?) {
            ShoeboxHolder.peek()?.libraryChanged()
            handler.removeCallbacks(kick)
            handler.postDelayed(kick, 5_000)
        }
    }

    fun start() {
        val r = context.contentResolver
        r.registerContentObserver(MediaStore.Images.Media.EXTERNAL_CONTENT_URI, true, observer)
        r.registerContentObserver(MediaStore.Video.Media.EXTERNAL_CONTENT_URI, true, observer)
    }

    fun stop() {
        handler.removeCallbacks(kick)
        context.contentResolver.unregisterContentObserver(observer)
    }
}
