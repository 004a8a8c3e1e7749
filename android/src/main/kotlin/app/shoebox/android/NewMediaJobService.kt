package app.shoebox.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.provider.MediaStore
import app.shoebox.android.decisions.AppEvent
import app.shoebox.android.decisions.JobIds

/**
 * Wakes the app when MediaStore gets new photos or videos (a JobScheduler content-URI trigger:
 * works while the app is not running, unlike a ContentObserver). It tells a running backup in
 * this process (`libraryChanged()`), and [BackupScheduler] enqueues a pass (KEEP: a queued or
 * running pass is not restarted) and registers the trigger again (content jobs fire once).
 *
 * Content-trigger jobs cannot be persisted, so they are lost at reboot and app update:
 * [BootReceiver] and [BackupScheduler.onAppStart] register the job again. Its id is the fixed
 * [JobIds.CONTENT_TRIGGER], outside the JobScheduler id range WorkManager is configured with
 * ([BackupScheduler.workManagerConfiguration]).
 */
class NewMediaJobService : JobService() {
    override fun onStartJob(params: JobParameters): Boolean {
        val app = applicationContext
        Thread {
            try {
                ShoeboxHolder.get(app)?.libraryChanged()
                BackupScheduler.onEvent(app, AppEvent.CONTENT_JOB_FIRED)
            } finally {
                jobFinished(params, false)
            }
        }.start()
        return true // finished on the thread (opening the state database is disk I/O)
    }

    override fun onStopJob(params: JobParameters): Boolean = false

    companion object {
        fun schedule(context: Context) {
            val js = context.getSystemService(JobScheduler::class.java)
            val job = JobInfo.Builder(JobIds.CONTENT_TRIGGER, ComponentName(context, NewMediaJobService::class.java))
                .addTriggerContentUri(
                    JobInfo.TriggerContentUri(
                        MediaStore.Images.Media.EXTERNAL_CONTENT_URI,
                        JobInfo.TriggerContentUri.FLAG_NOTIFY_FOR_DESCENDANTS,
                    ),
                )
                .addTriggerContentUri(
                    JobInfo.TriggerContentUri(
                        MediaStore.Video.Media.EXTERNAL_CONTENT_URI,
                        JobInfo.TriggerContentUri.FLAG_NOTIFY_FOR_DESCENDANTS,
                    ),
                )
                // Let a burst of photos settle before waking (camera bursts, a restored backup).
                .setTriggerContentUpdateDelay(10_000)
                .setTriggerContentMaxDelay(60_000)
                .build()
            js.schedule(job)
        }
    }
}
