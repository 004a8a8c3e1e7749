package app.shoebox.android

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.CoroutineWorker
import androidx.work.ForegroundInfo
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import app.shoebox.core.FileFailure
import app.shoebox.core.Phase
import app.shoebox.core.Progress
import app.shoebox.core.ProgressObserver
import app.shoebox.core.ShoeboxException
import app.shoebox.core.StopReason
import kotlinx.coroutines.CancellationException

/**
 * One bounded backup pass: `runFor(budget)` does as much as fits and leaves the queue consistent.
 * WorkManager's constraints (see [BackupScheduler]) start it only on an unmetered network when
 * "Wi-Fi only" is on and only while charging when "charging only" is on; the core enforces the
 * same rules itself from the pushed state, so a network change mid-run pauses at a chunk boundary.
 *
 * Long passes run in the foreground with a progress notification (WorkManager stops plain
 * workers after ~10 minutes). When WorkManager stops the worker, the coroutine is cancelled and
 * the binding cancels the Rust run (the upload resumes from the server's offset next time).
 */
class BackupWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val shoebox = ShoeboxHolder.get(applicationContext) ?: return Result.failure()
        val monitor = PlatformStateMonitor(applicationContext, shoebox)
        val notifier = ProgressNotifier()
        ShoeboxHolder.progress.add(notifier)
        monitor.start()
        return try {
            if (inputData.getBoolean(KEY_FOREGROUND, false)) setForeground(foregroundInfo(null))
            val budget = inputData.getLong(KEY_BUDGET_SECONDS, DEFAULT_BUDGET_SECONDS)
            val report = shoebox.runFor(budget.toULong())
            val out = workDataOf(
                "uploaded" to report.uploaded.toLong(),
                "failed" to report.failed.toLong(),
                "remaining" to report.remaining.toLong(),
            )
            when (report.stopped) {
                null -> Result.success(out)
                // More to do: WorkManager runs us again (with backoff) when constraints hold.
                StopReason.Deadline -> Result.retry()
                is StopReason.Paused -> Result.retry()
                StopReason.Cancelled -> Result.success(out)
            }
        } catch (e: CancellationException) {
            throw e
        } catch (e: ShoeboxException.ServerUnreachable) {
            Result.retry()
        } catch (e: ShoeboxException.Server) {
            Result.retry()
        } catch (e: ShoeboxException) {
            // Auth, quota, config: retrying does not help; the app shows the reason and the hint.
            val (reason, hint) = explain(e)
            Result.failure(workDataOf("error" to reason, "hint" to hint))
        } finally {
            monitor.stop()
            ShoeboxHolder.progress.remove(notifier)
        }
    }

    override suspend fun getForegroundInfo(): ForegroundInfo = foregroundInfo(null)

    private inner class ProgressNotifier : ProgressObserver {
        @Volatile private var lastPost = 0L
        override fun onProgress(progress: Progress) {
            val now = System.currentTimeMillis()
            if (now - lastPost < 1000 && progress.phase !is Phase.Paused) return
            lastPost = now
            // Updating the foreground notification is allowed from any thread.
            setForegroundAsync(foregroundInfo(progress))
        }
        override fun onFileFailed(failure: FileFailure) {}
    }

    private fun foregroundInfo(p: Progress?): ForegroundInfo {
        val id = NOTIFICATION_ID
        val n = notification(p)
        return if (Build.VERSION.SDK_INT >= 29) {
            ForegroundInfo(id, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            ForegroundInfo(id, n)
        }
    }

    private fun notification(p: Progress?): Notification {
        val nm = applicationContext.getSystemService(NotificationManager::class.java)
        if (Build.VERSION.SDK_INT >= 26 && nm.getNotificationChannel(CHANNEL) == null) {
            nm.createNotificationChannel(NotificationChannel(CHANNEL, "Photo backup", NotificationManager.IMPORTANCE_LOW))
        }
        val b = NotificationCompat.Builder(applicationContext, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_sys_upload)
            .setOngoing(true)
            .setOnlyAlertOnce(true)
            .setCategory(NotificationCompat.CATEGORY_PROGRESS)
            .setContentTitle("Backing up photos")
        when {
            p == null -> b.setProgress(0, 0, true)
            p.pauseMessage != null -> b.setContentText(p.pauseMessage).setProgress(0, 0, false)
            else -> {
                val done = p.filesUploaded + p.filesDuplicate + p.filesFailed
                val pct = if (p.bytesTotal > 0uL) (p.bytesDone.toDouble() * 100 / p.bytesTotal.toDouble()).toInt() else 0
                val eta = p.etaSeconds?.let { " · ${it.toLong() / 60} min left" } ?: ""
                b.setContentText("$done of ${p.filesTotal}$eta").setProgress(100, pct, p.bytesTotal == 0uL)
            }
        }
        return b.build()
    }

    /** The sentence and the advice to show for an error (every variant carries both). */
    private fun explain(e: ShoeboxException): Pair<String, String> = when (e) {
        is ShoeboxException.Auth -> e.reason to e.hint
        is ShoeboxException.ServerUnreachable -> e.reason to e.hint
        is ShoeboxException.QuotaExceeded -> e.reason to e.hint
        is ShoeboxException.Server -> e.reason to e.hint
        is ShoeboxException.FileVanished -> e.reason to e.hint
        is ShoeboxException.FileUnreadable -> e.reason to e.hint
        is ShoeboxException.FileChanged -> e.reason to e.hint
        is ShoeboxException.Library -> e.reason to e.hint
        is ShoeboxException.Database -> e.reason to e.hint
        is ShoeboxException.StateDir -> e.reason to e.hint
        is ShoeboxException.Config -> e.reason to e.hint
        is ShoeboxException.Cancelled -> e.reason to e.hint
        is ShoeboxException.Internal -> e.reason to e.hint
    }

    companion object {
        const val KEY_BUDGET_SECONDS = "budget_seconds"
        const val KEY_FOREGROUND = "foreground"
        /** Below WorkManager's 10-minute limit for a non-foreground worker. */
        const val DEFAULT_BUDGET_SECONDS = 9L * 60
        private const val CHANNEL = "shoebox-backup"
        private const val NOTIFICATION_ID = 0x5b0b
    }
}
