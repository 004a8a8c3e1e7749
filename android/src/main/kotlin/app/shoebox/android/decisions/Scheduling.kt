package app.shoebox.android.decisions

/**
 * What WorkManager / JobScheduler work to ask for, decided without any Android type so it runs
 * in plain JVM tests (android/jvm-test). `BackupScheduler` turns these plans into
 * `Constraints`, `OneTimeWorkRequest`s and `ExistingWorkPolicy`s.
 */

/** The two settings that shape scheduling (mirror of the core's `Settings` fields). */
data class BackupPrefs(val wifiOnly: Boolean, val chargingOnly: Boolean)

/** Who asked for a backup pass. Only [USER] is user-initiated. */
enum class Trigger {
    /** The user tapped "Back up now" (the app is in the foreground). */
    USER,

    /** New photos: the JobScheduler content trigger or the foreground ContentObserver. */
    NEW_MEDIA,

    /** The periodic pass. */
    PERIODIC,
    ;

    val userInitiated: Boolean get() = this == USER

    companion object {
        /** Unknown or missing input data (an old queued request) counts as a background pass. */
        fun parse(name: String?): Trigger = entries.firstOrNull { it.name == name } ?: NEW_MEDIA
    }
}

enum class NetworkRequirement { CONNECTED, UNMETERED }

/** Mirror of WorkManager's `ExistingWorkPolicy` (one-time unique work). */
enum class UniquePolicy { KEEP, REPLACE, APPEND_OR_REPLACE }

/** Mirror of `ExistingPeriodicWorkPolicy`. */
enum class PeriodicPolicy { KEEP, UPDATE }

/**
 * WorkManager constraints. Expedited work accepts only network and storage constraints
 * (`setExpedited` + `setRequiresCharging` etc. throws IllegalArgumentException at build time),
 * so a plan with [expedited] never has [requiresCharging], [requiresBatteryNotLow] or
 * [requiresDeviceIdle].
 */
data class WorkPlan(
    val network: NetworkRequirement,
    val requiresCharging: Boolean,
    val requiresBatteryNotLow: Boolean,
    val requiresDeviceIdle: Boolean,
    val expedited: Boolean,
    val uniqueName: String,
    val policy: UniquePolicy,
    /** Ask the worker to promote itself to a foreground service (user-started runs only). */
    val foreground: Boolean,
    val budgetSeconds: Long,
    val backoffSeconds: Long,
)

data class PeriodicPlan(
    val network: NetworkRequirement,
    val requiresCharging: Boolean,
    val requiresBatteryNotLow: Boolean,
    val intervalHours: Long,
    val uniqueName: String,
    val policy: PeriodicPolicy,
)

object BackupPlanner {
    const val NOW = "shoebox-backup-now"
    const val PERIODIC = "shoebox-backup-periodic"

    /** A non-foreground worker is stopped after 10 minutes; stay below. */
    const val BACKGROUND_BUDGET_SECONDS = 9L * 60

    /** A user-started foreground pass (dataSync services get 6 h a day on Android 15). */
    const val FOREGROUND_BUDGET_SECONDS = 60L * 60

    fun networkFor(prefs: BackupPrefs) =
        if (prefs.wifiOnly) NetworkRequirement.UNMETERED else NetworkRequirement.CONNECTED

    /**
     * A one-time pass. "Back up now" is expedited with only the network constraint (charging
     * only is still enforced: the core pauses on the power state the worker pushes, and the
     * notification says "waiting for the charger"), and it REPLACEs a pass queued by a trigger
     * (KEEP silently dropped the user's tap). New-media passes KEEP whatever is queued or running:
     * a running pass picks the new photos up through `libraryChanged()`.
     */
    fun oneTime(trigger: Trigger, prefs: BackupPrefs): WorkPlan = if (trigger.userInitiated) {
        WorkPlan(
            network = networkFor(prefs),
            requiresCharging = false,
            requiresBatteryNotLow = false,
            requiresDeviceIdle = false,
            expedited = true,
            uniqueName = NOW,
            policy = UniquePolicy.REPLACE,
            foreground = true,
            budgetSeconds = FOREGROUND_BUDGET_SECONDS,
            backoffSeconds = 60,
        )
    } else {
        WorkPlan(
            network = networkFor(prefs),
            requiresCharging = prefs.chargingOnly,
            requiresBatteryNotLow = true,
            requiresDeviceIdle = false,
            expedited = false,
            uniqueName = NOW,
            policy = UniquePolicy.KEEP,
            foreground = false,
            budgetSeconds = BACKGROUND_BUDGET_SECONDS,
            backoffSeconds = 5 * 60,
        )
    }

    /**
     * The periodic pass. [settingsChanged] = true (the user changed Wi-Fi only / charging only)
     * UPDATEs the existing request's constraints; on app start or boot it is KEEP, so the period
     * is not restarted every time the app opens.
     */
    fun periodic(prefs: BackupPrefs, settingsChanged: Boolean) = PeriodicPlan(
        network = networkFor(prefs),
        requiresCharging = prefs.chargingOnly,
        requiresBatteryNotLow = true,
        intervalHours = 6,
        uniqueName = PERIODIC,
        policy = if (settingsChanged) PeriodicPolicy.UPDATE else PeriodicPolicy.KEEP,
    )

    /**
     * How long the worker may run: the long budget only when it really became a foreground
     * service (setForeground can be refused, e.g. an expedited request that ran out of quota
     * and runs as ordinary work while the app is in the background).
     */
    fun budgetSeconds(plan: WorkPlan, promotedToForeground: Boolean): Long =
        if (promotedToForeground) plan.budgetSeconds else minOf(plan.budgetSeconds, BACKGROUND_BUDGET_SECONDS)
}

/**
 * JobScheduler ids. WorkManager's default JobScheduler id range is 0..Int.MAX_VALUE, so any id
 * we pick collides with it unless the app narrows the range: the app's
 * `Configuration.Provider` must use `setJobSchedulerJobIdRange(WORK_MANAGER_MIN, WORK_MANAGER_MAX)`
 * (see android/README.md), and the content-trigger job uses [CONTENT_TRIGGER], outside it.
 */
object JobIds {
    const val WORK_MANAGER_MIN = 0
    const val WORK_MANAGER_MAX = 999_999

    /** 0x5b0c0001: the MediaStore content-trigger job of `NewMediaJobService`. */
    const val CONTENT_TRIGGER = 0x5b0c0001

    /** False when WorkManager could hand [id] to one of its own jobs (and replace ours). */
    fun outsideWorkManager(id: Int, wmMin: Int, wmMax: Int): Boolean = id < wmMin || id > wmMax
}

/** Things that happen to the app that may need work (re)scheduled. */
enum class AppEvent {
    /** BOOT_COMPLETED / LOCKED_BOOT_COMPLETED: content-trigger jobs do not survive a reboot. */
    BOOT,

    /** MY_PACKAGE_REPLACED: an app update clears the app's JobScheduler jobs. */
    APP_UPDATED,

    /** Application.onCreate. */
    APP_START,

    /** The user changed Wi-Fi only / charging only. */
    SETTINGS_CHANGED,

    /** The content-trigger job fired (content jobs fire once, then must be scheduled again). */
    CONTENT_JOB_FIRED,

    /** Logged out: nothing must run. */
    LOGGED_OUT,
}

sealed class ScheduleAction {
    /** Schedule the MediaStore content-trigger job (JobIds.CONTENT_TRIGGER). */
    object RegisterContentTrigger : ScheduleAction()
    data class EnsurePeriodic(val policy: PeriodicPolicy) : ScheduleAction()
    data class EnqueueOneTime(val trigger: Trigger) : ScheduleAction()
    object CancelAll : ScheduleAction()
    override fun toString(): String = javaClass.simpleName
}

object Rescheduler {
    /**
     * What to (re)schedule after [event]. [loggedIn] false schedules nothing (there is no key to
     * back up with). [contentJobPending] says whether JobScheduler still holds our content job.
     */
    fun actions(event: AppEvent, loggedIn: Boolean, contentJobPending: Boolean): List<ScheduleAction> {
        if (event == AppEvent.LOGGED_OUT) return listOf(ScheduleAction.CancelAll)
        if (!loggedIn) return emptyList()
        val out = ArrayList<ScheduleAction>()
        when (event) {
            AppEvent.BOOT, AppEvent.APP_UPDATED -> {
                out += ScheduleAction.RegisterContentTrigger
                out += ScheduleAction.EnsurePeriodic(PeriodicPolicy.KEEP)
                // Photos taken while the phone was off or the app was being updated.
                out += ScheduleAction.EnqueueOneTime(Trigger.NEW_MEDIA)
            }
            AppEvent.APP_START -> {
                if (!contentJobPending) out += ScheduleAction.RegisterContentTrigger
                out += ScheduleAction.EnsurePeriodic(PeriodicPolicy.KEEP)
            }
            AppEvent.SETTINGS_CHANGED -> {
                out += ScheduleAction.RegisterContentTrigger
                out += ScheduleAction.EnsurePeriodic(PeriodicPolicy.UPDATE)
            }
            AppEvent.CONTENT_JOB_FIRED -> {
                out += ScheduleAction.EnqueueOneTime(Trigger.NEW_MEDIA)
                out += ScheduleAction.RegisterContentTrigger
            }
            AppEvent.LOGGED_OUT -> Unit
        }
        return out
    }
}
