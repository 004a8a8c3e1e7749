package app.shoebox.android.decisions

/** Mirror of the core's `PauseReason`. */
enum class PauseKind { NO_NETWORK, WAITING_FOR_WIFI, WAITING_FOR_CHARGER, LOW_POWER, STATE_UNKNOWN }

/** Mirror of the core's `StopReason` (null in [RunSummary] = the run completed). */
sealed class StopKind {
    object Deadline : StopKind()
    object Cancelled : StopKind()
    data class Paused(val reason: PauseKind) : StopKind()
    override fun toString(): String = javaClass.simpleName
}

/** The parts of a `RunReport` the worker's result depends on. */
data class RunSummary(val uploaded: Long, val failed: Long, val remaining: Long, val stopped: StopKind?)

/** Mirror of the `ShoeboxException` variants. */
enum class ErrorKind {
    AUTH, SERVER_UNREACHABLE, QUOTA_EXCEEDED, SERVER, FILE_VANISHED, FILE_UNREADABLE, FILE_CHANGED,
    LIBRARY, DATABASE, STATE_DIR, CONFIG, CANCELLED, INTERNAL,
}

/** Mirror of WorkManager's `ListenableWorker.Result`. */
sealed class WorkerVerdict {
    object Success : WorkerVerdict()
    object Retry : WorkerVerdict()

    /** Retrying does not help; the app shows [message] and [hint]. */
    data class Failure(val message: String, val hint: String) : WorkerVerdict()
    override fun toString(): String = javaClass.simpleName
}

object WorkerResults {
    /** After this many attempts a transient-looking error (a bug, a broken database) fails the work. */
    const val MAX_ATTEMPTS = 10

    /**
     * A finished `runFor`: completed → success; out of time or paused (no network, waiting for
     * Wi-Fi/charger, low power, state not known yet) → retry, so WorkManager runs it again when
     * its constraints hold; cancelled (the user's "Back up now" replaced this pass, or the app
     * called cancel) → success: another pass owns the queue. Per-file failures do not fail the
     * work: the core retries those files on the next pass.
     */
    fun forReport(r: RunSummary): WorkerVerdict = when (r.stopped) {
        null -> WorkerVerdict.Success
        StopKind.Deadline -> WorkerVerdict.Retry
        is StopKind.Paused -> WorkerVerdict.Retry
        StopKind.Cancelled -> WorkerVerdict.Success
    }

    /**
     * `runFor` threw. Network trouble and server 5xx/408/429 → retry; auth, quota and config →
     * failure with the core's message and hint (only the user can fix those); a server 4xx the
     * same. Library (no permission), state-dir or database errors and bugs retry a few times,
     * then fail, so the app sees them instead of an endless backoff.
     */
    fun forError(kind: ErrorKind, message: String, hint: String, httpStatus: Int? = null, attempt: Int = 0): WorkerVerdict {
        val fail = WorkerVerdict.Failure(message, hint)
        return when (kind) {
            ErrorKind.SERVER_UNREACHABLE -> WorkerVerdict.Retry
            ErrorKind.SERVER -> {
                val s = httpStatus ?: 500
                if (s >= 500 || s == 408 || s == 429) WorkerVerdict.Retry else fail
            }
            ErrorKind.AUTH, ErrorKind.QUOTA_EXCEEDED, ErrorKind.CONFIG -> fail
            ErrorKind.CANCELLED -> WorkerVerdict.Success
            ErrorKind.FILE_VANISHED, ErrorKind.FILE_UNREADABLE, ErrorKind.FILE_CHANGED,
            ErrorKind.LIBRARY, ErrorKind.DATABASE, ErrorKind.STATE_DIR, ErrorKind.INTERNAL ->
                if (attempt + 1 >= MAX_ATTEMPTS) fail else WorkerVerdict.Retry
        }
    }
}
