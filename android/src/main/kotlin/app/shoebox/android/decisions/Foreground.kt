package app.shoebox.android.decisions

/**
 * Whether a pass runs as a foreground service, and what its notification says.
 *
 * Only the user's "Back up now" may run in the foreground: background workers calling
 * `setForeground` from the background are refused on Android 12+ (and Android 14 requires a
 * foreground service type — `dataSync` — and its permission for every foreground service start).
 * The worker promotes itself once, at the start; progress updates then go through
 * `NotificationManager.notify` with the same notification id, never `setForegroundAsync` again.
 */
data class ForegroundPlan(
    val foreground: Boolean,
    /** Pass `FOREGROUND_SERVICE_TYPE_DATA_SYNC` to `ForegroundInfo` (API 29+; required on 34+). */
    val dataSyncType: Boolean,
)

object ForegroundPolicy {
    fun plan(trigger: Trigger, sdkInt: Int): ForegroundPlan {
        val fg = trigger.userInitiated
        return ForegroundPlan(foreground = fg, dataSyncType = fg && sdkInt >= 29)
    }
}

/** Rate-limits notification updates: at most one a second, but a pause/phase change at once. */
class NotificationThrottle(private val minIntervalMs: Long = 1_000) {
    private var lastMs = Long.MIN_VALUE
    private var lastKey: String? = null

    /** [key] changes (e.g. "paused:WAITING_FOR_WIFI") are posted immediately. */
    @Synchronized
    fun shouldPost(nowMs: Long, key: String): Boolean {
        val post = key != lastKey || lastMs == Long.MIN_VALUE || nowMs - lastMs >= minIntervalMs
        if (post) {
            lastMs = nowMs
            lastKey = key
        }
        return post
    }
}

/** Mirror of the core's `PendingState`. */
sealed class PendingStatus {
    object WaitingToHash : PendingStatus()
    data class Hashing(val hashed: Long) : PendingStatus()
    object Queued : PendingStatus()
    object WaitingForWindow : PendingStatus()
    data class Paused(val reason: PauseKind) : PendingStatus()
    data class Uploading(val sent: Long, val total: Long) : PendingStatus()
    data class RetryAt(val atMs: Long, val error: String) : PendingStatus()
    data class Failed(val reason: String, val hint: String) : PendingStatus()
    override fun toString(): String = javaClass.simpleName
}

/** Mirror of the core's `PendingItem`. */
data class Pending(val localId: String, val fileName: String, val size: Long, val large: Boolean, val status: PendingStatus)

/** Mirror of the parts of the core's `Progress` a notification shows. */
data class ProgressView(
    val filesDone: Long,
    val filesTotal: Long,
    val bytesDone: Long,
    val bytesTotal: Long,
    val etaSeconds: Long?,
    val pauseMessage: String?,
)

data class NotificationContent(
    val title: String,
    val text: String,
    /** 0..100, or null for an indeterminate bar. */
    val percent: Int?,
    /** Expanded (InboxStyle) lines: the files that matter now. */
    val lines: List<String>,
)

object NotificationText {
    const val MAX_LINES = 4

    fun pauseText(r: PauseKind): String = when (r) {
        PauseKind.NO_NETWORK -> "waiting for a network"
        PauseKind.WAITING_FOR_WIFI -> "waiting for Wi-Fi (Wi-Fi only is on)"
        PauseKind.WAITING_FOR_CHARGER -> "waiting for the charger (charging only is on)"
        PauseKind.LOW_POWER -> "paused by battery saver"
        PauseKind.STATE_UNKNOWN -> "checking network and battery"
    }

    /**
     * Which pending items to name, most relevant first: uploads in flight (largest share done
     * first), then hashing, then failed (the user must act), then retry-later; at most
     * [MAX_LINES]. Queued and waiting items are only counted, never listed (there can be
     * thousands).
     */
    fun linesFor(pending: List<Pending>, nowMs: Long): List<String> {
        fun rank(p: Pending) = when (p.status) {
            is PendingStatus.Uploading -> 0
            is PendingStatus.Hashing -> 1
            is PendingStatus.Failed -> 2
            is PendingStatus.RetryAt -> 3
            is PendingStatus.Paused -> 4
            else -> 9
        }
        fun share(p: Pending): Double = (p.status as? PendingStatus.Uploading)
            ?.let { if (it.total > 0) it.sent.toDouble() / it.total else 0.0 } ?: 0.0
        return pending.filter { rank(it) < 9 }
            .sortedWith(compareBy<Pending> { rank(it) }.thenByDescending { share(it) }.thenBy { it.fileName })
            .take(MAX_LINES)
            .map { p ->
                when (val s = p.status) {
                    is PendingStatus.Uploading -> "${p.fileName} — ${percentOf(s.sent, s.total)}%"
                    is PendingStatus.Hashing -> "${p.fileName} — checking (${percentOf(s.hashed, p.size)}%)"
                    is PendingStatus.Failed -> "${p.fileName} — ${s.reason}"
                    is PendingStatus.RetryAt -> "${p.fileName} — retry in ${maxOf(0, (s.atMs - nowMs + 59_999) / 60_000)} min"
                    is PendingStatus.Paused -> "${p.fileName} — ${pauseText(s.reason)}"
                    else -> p.fileName
                }
            }
    }

    fun content(progress: ProgressView?, pending: List<Pending>, nowMs: Long): NotificationContent {
        val lines = linesFor(pending, nowMs)
        if (progress == null) return NotificationContent("Backing up photos", "Starting…", null, lines)
        progress.pauseMessage?.let { return NotificationContent("Backup paused", it, null, lines) }
        val eta = progress.etaSeconds?.let { " · ${formatEta(it)} left" } ?: ""
        val percent = if (progress.bytesTotal > 0) percentOf(progress.bytesDone, progress.bytesTotal) else null
        return NotificationContent(
            "Backing up photos",
            "${progress.filesDone} of ${progress.filesTotal}$eta",
            percent,
            lines,
        )
    }

    fun percentOf(done: Long, total: Long): Int =
        if (total <= 0) 0 else ((done.coerceIn(0, total) * 100) / total).toInt()

    fun formatEta(seconds: Long): String = when {
        seconds < 60 -> "<1 min"
        seconds < 3600 -> "${seconds / 60} min"
        else -> "${seconds / 3600} h ${(seconds % 3600) / 60} min"
    }
}
