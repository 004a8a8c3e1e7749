package app.shoebox.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.workDataOf
import app.shoebox.core.Settings
import java.util.concurrent.TimeUnit

/**
 * Schedules backup passes with WorkManager. Constraints mirror the user's settings, so the
 * system does not even wake the app on cellular when "Wi-Fi only" is on:
 *   Wi-Fi only → NetworkType.UNMETERED, else CONNECTED; charging only → requiresCharging.
 * Call [reschedule] after changing settings (the core's `setSettings`).
 */
object BackupScheduler {
    private const val PERIODIC = "shoebox-backup-periodic"
    private const val NOW = "shoebox-backup-now"

    fun constraints(s: Settings): Constraints = Constraints.Builder()
        .setRequiredNetworkType(if (s.wifiOnly) NetworkType.UNMETERED else NetworkType.CONNECTED)
        .setRequiresCharging(s.chargingOnly)
        .setRequiresBatteryNotLow(true)
        .build()

    /** A pass every few hours (and whenever constraints allow after a retry). */
    fun reschedule(context: Context, settings: Settings) {
        val request = PeriodicWorkRequestBuilder<BackupWorker>(6, TimeUnit.HOURS)
            .setConstraints(constraints(settings))
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 5, TimeUnit.MINUTES)
            .build()
        WorkManager.getInstance(context)
            .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.UPDATE, request)
        NewMediaJobService.schedule(context)
    }

    /**
     * A pass now: after new photos (from [NewMediaJobService]) or when the user taps "Back up
     * now" (foreground = true shows the progress notification and allows a longer budget).
     */
    fun runNow(context: Context, settings: Settings, foreground: Boolean) {
        val request = OneTimeWorkRequestBuilder<BackupWorker>()
            .setConstraints(constraints(settings))
            .setInputData(
                workDataOf(
                    BackupWorker.KEY_FOREGROUND to foreground,
                    BackupWorker.KEY_BUDGET_SECONDS to if (foreground) 60L * 60 else BackupWorker.DEFAULT_BUDGET_SECONDS,
                ),
            )
            .apply { if (foreground) setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST) }
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, request)
    }
}
