package app.shoebox.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.provider.MediaStore

/**
 * Wakes the app when MediaStore gets new photos or videos (a JobScheduler content-URI trigger:
 * works while the app is not running, unlike a ContentObserver) and enqueues a backup pass.
 * Content-URI jobs fire once, so the job schedules itself again each time.
 */
class NewMediaJobService : JobService() {
    override fun onStartJob(params: JobParameters): Boolean {
        val shoebox = ShoeboxHolder.get(applicationContext)
        if (shoebox != null) {
            BackupScheduler.runNow(applicationContext, shoebox.settings(), foreground = false)
        }
        schedule(applicationContext) // observe the next change
        return false
    }

    override fun onStopJob(params: JobParameters): Boolean = false

    companion object {
        private const val JOB_ID = 0x5b0c

        fun schedule(context: Context) {
            val js = context.getSystemService(JobScheduler::class.java)
            val job = JobInfo.Builder(JOB_ID, ComponentName(context, NewMediaJobService::class.java))
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
