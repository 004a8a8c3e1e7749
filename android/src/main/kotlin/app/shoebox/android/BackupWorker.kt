package app.shoebox.android

import android.Manifest
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.PackageManager
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.CoroutineWorker
import androidx.work.Data
import androidx.work.ForegroundInfo
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import app.shoebox.android.decisions.BackupPlanner
import app.shoebox.android.decisions.ForegroundPolicy
import app.shoebox.android.decisions.NotificationContent
import app.shoebox.android.decisions.NotificationText
import app.shoebox.android.decisions.NotificationThrottle
import app.shoebox.android.decisions.Pending
import app.shoebox.android.decisions.Trigger
import app.shoebox.android.decisions.WorkerResults
import app.shoebox.android.decisions.WorkerVerdict
import app.shoebox.core.FileFailure
import app.shoebox.core.Phase
import app.shoebox.core.Progress
import app.shoebox.core.ProgressObserver
import app.shoebox.core.RunReport
import app.shoebox.core.Shoebox
import app.shoebox.core.ShoeboxException
import kotlinx.coroutines.CancellationException

/**
 * One bounded backup pass: `runFor(budget)` does as much as fits and leaves the queue consistent.
 * Every decision is in `app.shoebox.android.decisions` (tested on the JVM); this class only
 * talks to WorkManager and the NotificationManager:
 * - network and power are pushed into the core BEFORE the run (the core treats unknown state
 *   as "not allowed");
 * - only a user-started pass ([Trigger.USER]) becomes a foreground service
 *   ([ForegroundPolicy]): once, at the start, with type `dataSync`. Its progress updates go
 *   through `NotificationManager.notify` on the same notification id. Background passes never
 *   call `setForeground` and keep to the 9-minute budget;
 * - the Result comes from [WorkerResults].
 * When WorkManager stops the worker the coroutine is cancelled, which cancels the Rust run (the
 * upload resumes from the server's offset next time).
 */
class BackupWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    private val trigger = Trigger.parse(inputData.getString(KEY_TRIGGER))
    private val foregroundPlan = ForegroundPolicy.plan(trigger, Build.VERSION.SDK_INT)

    override suspend fun doWork(): Result {
        val shoebox = ShoeboxHolder.get(applicationContext)
            ?: return Result.failure(workDataOf("error" to "Not logged in.", "hint" to "Log in to a Shoebox server."))
        val monitor = PlatformStateMonitor(applicationContext, shoebox)
        monitor.start() // pushes network and power synchronously, before runFor
        val promoted = foregroundPlan.foreground && promote()
        val notifier = if (promoted) ProgressNotifier(shoebox).also { ShoeboxHolder.progress.add(it) } else null
        return try {
            val plan = BackupPlanner.oneTime(trigger, shoebox.settings().toPrefs())
            val report = shoebox.runFor(BackupPlanner.budgetSeconds(plan, promoted).toULong())
            // A finished backup leaves time: refresh the offline timeline inside a short window
            // (the core keeps Wi-Fi only for it too; a cut-off sync goes on next time).
            if (report.stopped == null) shoebox.syncTimelineFor(60uL)
            toResult(WorkerResults.forReport(report.toSummary()), summaryData(report))
        } catch (e: CancellationException) {
            throw e
        } catch (e: ShoeboxException) {
            val f = e.facts()
            toResult(WorkerResults.forError(f.kind, f.message, f.hint, f.status, runAttemptCount), Data.EMPTY)
        } finally {
            notifier?.close()
            monitor.stop()
        }
    }

    /** Becomes a foreground service once. False when Android refuses (e.g. started from the background). */
    private suspend fun promote(): Boolean = try {
        setForeground(foregroundInfo(null))
        true
    } catch (e: IllegalStateException) { // ForegroundServiceStartNotAllowedException (Android 12+)
        false
    }

    /** WorkManager asks for this to run expedited work as a foreground service before Android 12. */
    override suspend fun getForegroundInfo(): ForegroundInfo = foregroundInfo(null)

    private fun toResult(v: WorkerVerdict, data: Data): Result = when (v) {
        WorkerVerdict.Success -> Result.success(data)
        WorkerVerdict.Retry -> Result.retry()
        is WorkerVerdict.Failure -> Result.failure(workDataOf("error" to v.message, "hint" to v.hint))
    }

    private fun summaryData(r: RunReport) = workDataOf(
        "uploaded" to r.uploaded.toLong(),
        "failed" to r.failed.toLong(),
        "remaining" to r.remaining.toLong(),
    )

    /** Progress of a user-started pass, posted over the foreground notification (same id). */
    private inner class ProgressNotifier(private val shoebox: Shoebox) : ProgressObserver {
        private val throttle = NotificationThrottle(1_000)
        @Volatile private var closed = false
        @Volatile private var pending: List<Pending> = emptyList()
        @Volatile private var pendingAt = 0L

        override fun onProgress(progress: Progress) {
            if (closed) return
            val now = System.currentTimeMillis()
            val key = (progress.phase as? Phase.Paused)?.let { "paused:${it.reason}" } ?: progress.phase.javaClass.simpleName
            if (!throttle.shouldPost(now, key)) return
            if (now - pendingAt > 5_000) { // the pending list is a database read: every 5 s at most
                pendingAt = now
                pending = runCatching { shoebox.pending().map { it.toPending() } }.getOrDefault(pending)
            }
            post(NotificationText.content(progress.toView(), pending, now))
        }

        override fun onFileFailed(failure: FileFailure) {}

        fun close() {
            closed = true
            ShoeboxHolder.progress.remove(this)
        }

        private fun post(content: NotificationContent) {
            if (closed || !canNotify()) return
            runCatching { notificationManager().notify(NOTIFICATION_ID, notification(content)) }
        }
    }

    private fun canNotify() = Build.VERSION.SDK_INT < 33 ||
        applicationContext.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) == PackageManager.PERMISSION_GRANTED

    private fun notificationManager(): NotificationManager =
        applicationContext.getSystemService(NotificationManager::class.java)

    private fun foregroundInfo(content: NotificationContent?): ForegroundInfo {
        val n = notification(content ?: NotificationText.content(null, emptyList(), System.currentTimeMillis()))
        return if (foregroundPlan.dataSyncType && Build.VERSION.SDK_INT >= 29) {
            ForegroundInfo(NOTIFICATION_ID, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            ForegroundInfo(NOTIFICATION_ID, n)
        }
    }

    private fun notification(c: NotificationContent): Notification {
        val nm = notificationManager()
        if (Build.VERSION.SDK_INT >= 26 && nm.getNotificationChannel(CHANNEL) == null) {
            nm.createNotificationChannel(NotificationChannel(CHANNEL, "Photo backup", NotificationManager.IMPORTANCE_LOW))
        }
        val b = NotificationCompat.Builder(applicationContext, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_sys_upload)
            .setOngoing(true)
            .setOnlyAlertOnce(true)
            .setCategory(NotificationCompat.CATEGORY_PROGRESS)
            .setContentTitle(c.title)
            .setContentText(c.text)
            .setProgress(100, c.percent ?: 0, c.percent == null)
        if (c.lines.isNotEmpty()) {
            val style = NotificationCompat.InboxStyle().setSummaryText(c.text)
            c.lines.forEach { style.addLine(it) }
            b.setStyle(style)
        }
        return b.build()
    }

    companion object {
        const val KEY_TRIGGER = "trigger"
        private const val CHANNEL = "shoebox-backup"
        private const val NOTIFICATION_ID = 0x5b0b
    }
}
