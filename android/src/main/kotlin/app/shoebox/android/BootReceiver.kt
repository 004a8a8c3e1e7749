package app.shoebox.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import app.shoebox.android.decisions.AppEvent

/**
 * After a reboot or an app update JobScheduler has dropped the (non-persistable) content-trigger
 * job: register it again, make sure the periodic pass exists (KEEP), and catch up on photos
 * taken meanwhile (see `Rescheduler`).
 */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val event = when (intent.action) {
            Intent.ACTION_BOOT_COMPLETED -> AppEvent.BOOT
            Intent.ACTION_MY_PACKAGE_REPLACED -> AppEvent.APP_UPDATED
            else -> return
        }
        val app = context.applicationContext
        val done = goAsync()
        Thread {
            try {
                BackupScheduler.onEvent(app, event)
            } finally {
                done.finish()
            }
        }.start()
    }
}
