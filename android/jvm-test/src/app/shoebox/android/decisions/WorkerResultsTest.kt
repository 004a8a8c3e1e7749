package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Test

class WorkerResultsTest {
    private fun report(stopped: StopKind?) = RunSummary(uploaded = 3, failed = 1, remaining = 7, stopped = stopped)

    @Test
    fun doneIsSuccess() {
        assertEquals(WorkerVerdict.Success, WorkerResults.forReport(report(null)))
    }

    @Test
    fun deadlineAndEveryPauseRetry() {
        assertEquals(WorkerVerdict.Retry, WorkerResults.forReport(report(StopKind.Deadline)))
        for (r in PauseKind.entries) {
            assertEquals("$r", WorkerVerdict.Retry, WorkerResults.forReport(report(StopKind.Paused(r))))
        }
    }

    @Test
    fun cancelledByAReplacingPassIsNotRetried() {
        assertEquals(WorkerVerdict.Success, WorkerResults.forReport(report(StopKind.Cancelled)))
    }

    @Test
    fun authQuotaAndConfigFailWithTheCoresMessage() {
        for (k in listOf(ErrorKind.AUTH, ErrorKind.QUOTA_EXCEEDED, ErrorKind.CONFIG)) {
            assertEquals("$k", WorkerVerdict.Failure("the key was revoked", "log in again"), WorkerResults.forError(k, "the key was revoked", "log in again"))
        }
    }

    @Test
    fun networkAndServerTroubleRetry() {
        assertEquals(WorkerVerdict.Retry, WorkerResults.forError(ErrorKind.SERVER_UNREACHABLE, "m", "h"))
        assertEquals(WorkerVerdict.Retry, WorkerResults.forError(ErrorKind.SERVER, "m", "h", httpStatus = 503))
        assertEquals(WorkerVerdict.Retry, WorkerResults.forError(ErrorKind.SERVER, "m", "h", httpStatus = 429))
        assertEquals(WorkerVerdict.Failure("m", "h"), WorkerResults.forError(ErrorKind.SERVER, "m", "h", httpStatus = 400))
    }

    @Test
    fun transientLookingErrorsRetryThenFail() {
        assertEquals(WorkerVerdict.Retry, WorkerResults.forError(ErrorKind.DATABASE, "m", "h", attempt = 0))
        assertEquals(WorkerVerdict.Failure("m", "h"), WorkerResults.forError(ErrorKind.DATABASE, "m", "h", attempt = WorkerResults.MAX_ATTEMPTS - 1))
    }
}
