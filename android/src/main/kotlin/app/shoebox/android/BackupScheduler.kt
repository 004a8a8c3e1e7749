package app.shoebox.android

import android.app.job.JobScheduler
import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Configuration
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.workDataOf
import app.shoebox.android.decisions.AppEvent
import app.shoebox.android.decisions.BackupPlanner
import app.shoebox.android.decisions.BackupPrefs
import app.shoebox.android.decisions.JobIds
import app.shoebox.android.decisions.NetworkRequirement
import app.shoebox.android.decisions.PeriodicPolicy
import app.shoebox.android.decisions.PeriodicPlan
import app.shoebox.android.decisions.Rescheduler
import app.shoebox.android.decisions.ScheduleAction
import app.shoebox.android.decisions.Trigger
import app.shoebox.android.decisions.UniquePolicy
import app.shoebox.android.decisions.WorkPlan
import app.shoebox.core.Settings
import java.util.concurrent.TimeUnit

/**
 * Turns the plans of [BackupPlanner] and [Rescheduler] (plain Kotlin, tested on the JVM) into
 * WorkManager requests and the JobScheduler content trigger. Entry points for the app:
 * - [backUpNow]: the "Back up now" button (expedited, foreground, replaces a queued pass);
 * - [onAppStart]: from `Application.onCreate` (re-registers a lost content trigger);
 * - [settingsChanged]: after `setSettings` (updates the constraints of the periodic pass);
 * - [loggedOut]: cancels everything.
 * [BootReceiver] calls [onEvent] after a reboot or an app update.
 */
object BackupScheduler {

    /**
     * The WorkManager configuration the app's `Application` must return from
     * `Configuration.Provider` (the library's manifest removes WorkManager's default
     * initializer): it keeps WorkManager's JobScheduler ids in
     * [JobIds.WORK_MANAGER_MIN]..[JobIds.WORK_MANAGER_MAX], so the content trigger's fixed id
     * [JobIds.CONTENT_TRIGGER] never collides with one of WorkManager's jobs.
     */
    fun workManagerConfiguration(): Configuration = Configuration.Builder()
        .setJobSchedulerJobIdRange(JobIds.WORK_MANAGER_MIN, JobIds.WORK_MANAGER_MAX)
        .build()

    fun backUpNow(context: Context, settings: Settings) = runNow(context, settings.toPrefs(), Trigger.USER)

    fun onAppStart(context: Context) = onEvent(context, AppEvent.APP_START)

    fun settingsChanged(context: Context) = onEvent(context, AppEvent.SETTINGS_CHANGED)

    fun loggedOut(context: Context) = onEvent(context, AppEvent.LOGGED_OUT)

    /** Carries out what [Rescheduler] decides for [event]. */
    fun onEvent(context: Context, event: AppEvent) {
        val app = context.applicationContext
        val prefs = if (event == AppEvent.LOGGED_OUT) null else ShoeboxHolder.get(app)?.settings()?.toPrefs()
        val js = app.getSystemService(JobScheduler::class.java)
        val contentJobPending = js.getPendingJob(JobIds.CONTENT_TRIGGER) != null
        for (action in Rescheduler.actions(event, loggedIn = prefs != null, contentJobPending = contentJobPending)) {
            when (action) {
                ScheduleAction.RegisterContentTrigger -> NewMediaJobService.schedule(app)
                is ScheduleAction.EnsurePeriodic -> prefs?.let { periodic(app, BackupPlanner.periodic(it, action.policy == PeriodicPolicy.UPDATE)) }
                is ScheduleAction.EnqueueOneTime -> prefs?.let { runNow(app, it, action.trigger) }
                ScheduleAction.CancelAll -> {
                    val wm = WorkManager.getInstance(app)
                    wm.cancelUniqueWork(BackupPlanner.NOW)
                    wm.cancelUniqueWork(BackupPlanner.PERIODIC)
                    js.cancel(JobIds.CONTENT_TRIGGER)
                }
            }
        }
    }

    /** A one-time pass for [trigger], as [BackupPlanner.oneTime] plans it. */
    fun runNow(context: Context, prefs: BackupPrefs, trigger: Trigger) {
        val plan = BackupPlanner.oneTime(trigger, prefs)
        val request = OneTimeWorkRequestBuilder<BackupWorker>()
            .setConstraints(constraints(plan))
            .setInputData(workDataOf(BackupWorker.KEY_TRIGGER to trigger.name))
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, plan.backoffSeconds, TimeUnit.SECONDS)
            .apply { if (plan.expedited) setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST) }
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork(plan.uniqueName, plan.policy.toWork(), request)
    }

    private fun periodic(context: Context, plan: PeriodicPlan) {
        val constraints = Constraints.Builder()
            .setRequiredNetworkType(plan.network.toWork())
            .setRequiresCharging(plan.requiresCharging)
            .setRequiresBatteryNotLow(plan.requiresBatteryNotLow)
            .build()
        val request = PeriodicWorkRequestBuilder<BackupWorker>(plan.intervalHours, TimeUnit.HOURS)
            .setConstraints(constraints)
            .setInputData(workDataOf(BackupWorker.KEY_TRIGGER to Trigger.PERIODIC.name))
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 5, TimeUnit.MINUTES)
            .build()
        val policy = when (plan.policy) {
            PeriodicPolicy.KEEP -> ExistingPeriodicWorkPolicy.KEEP
            PeriodicPolicy.UPDATE -> ExistingPeriodicWorkPolicy.UPDATE
        }
        WorkManager.getInstance(context).enqueueUniquePeriodicWork(plan.uniqueName, policy, request)
    }

    /** Only the constraints the plan asks for: an expedited plan never has battery/charging/idle ones. */
    private fun constraints(plan: WorkPlan): Constraints = Constraints.Builder()
        .setRequiredNetworkType(plan.network.toWork())
        .setRequiresCharging(plan.requiresCharging)
        .setRequiresBatteryNotLow(plan.requiresBatteryNotLow)
        .setRequiresDeviceIdle(plan.requiresDeviceIdle)
        .build()

    private fun NetworkRequirement.toWork() = when (this) {
        NetworkRequirement.CONNECTED -> NetworkType.CONNECTED
        NetworkRequirement.UNMETERED -> NetworkType.UNMETERED
    }

    private fun UniquePolicy.toWork() = when (this) {
        UniquePolicy.KEEP -> ExistingWorkPolicy.KEEP
        UniquePolicy.REPLACE -> ExistingWorkPolicy.REPLACE
        UniquePolicy.APPEND_OR_REPLACE -> ExistingWorkPolicy.APPEND_OR_REPLACE
    }
}
