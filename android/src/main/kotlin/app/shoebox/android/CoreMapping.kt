package app.shoebox.android

import app.shoebox.android.decisions.BackupPrefs
import app.shoebox.android.decisions.CoreNetwork
import app.shoebox.android.decisions.CorePower
import app.shoebox.android.decisions.ErrorKind
import app.shoebox.android.decisions.NetKind
import app.shoebox.android.decisions.PauseKind
import app.shoebox.android.decisions.Pending
import app.shoebox.android.decisions.PendingStatus
import app.shoebox.android.decisions.ProgressView
import app.shoebox.android.decisions.RunSummary
import app.shoebox.android.decisions.StopKind
import app.shoebox.core.NetworkKind
import app.shoebox.core.NetworkState
import app.shoebox.core.PauseReason
import app.shoebox.core.PendingItem
import app.shoebox.core.PendingState
import app.shoebox.core.PowerState
import app.shoebox.core.Progress
import app.shoebox.core.RunReport
import app.shoebox.core.Settings
import app.shoebox.core.ShoeboxException
import app.shoebox.core.StopReason

/**
 * Conversions between the generated core types (app.shoebox.core) and the plain mirrors the
 * decision classes use (app.shoebox.android.decisions), which compile without the bindings.
 */

internal fun Settings.toPrefs() = BackupPrefs(wifiOnly = wifiOnly, chargingOnly = chargingOnly)

internal fun CoreNetwork.toCore() = NetworkState(
    kind = when (kind) {
        NetKind.WIFI -> NetworkKind.WIFI
        NetKind.CELLULAR -> NetworkKind.CELLULAR
        NetKind.OTHER -> NetworkKind.OTHER
        NetKind.NONE -> NetworkKind.NONE
    },
    metered = metered,
)

internal fun CorePower.toCore() = PowerState(charging = charging, lowPower = lowPower)

internal fun PauseReason.toKind(): PauseKind = when (this) {
    PauseReason.STATE_UNKNOWN -> PauseKind.STATE_UNKNOWN
    PauseReason.NO_NETWORK -> PauseKind.NO_NETWORK
    PauseReason.WAITING_FOR_WIFI -> PauseKind.WAITING_FOR_WIFI
    PauseReason.WAITING_FOR_CHARGER -> PauseKind.WAITING_FOR_CHARGER
    PauseReason.LOW_POWER -> PauseKind.LOW_POWER
}

internal fun RunReport.toSummary() = RunSummary(
    uploaded = uploaded.toLong(),
    failed = failed.toLong(),
    remaining = remaining.toLong(),
    stopped = when (val s = stopped) {
        null -> null
        is StopReason.Paused -> StopKind.Paused(s.reason.toKind())
        StopReason.Deadline -> StopKind.Deadline
        StopReason.Cancelled -> StopKind.Cancelled
    },
)

internal fun Progress.toView() = ProgressView(
    filesDone = (filesUploaded + filesDuplicate + filesFailed).toLong(),
    filesTotal = filesTotal.toLong(),
    bytesDone = bytesDone.toLong(),
    bytesTotal = bytesTotal.toLong(),
    etaSeconds = etaSeconds?.toLong(),
    pauseMessage = pauseMessage,
)

internal fun PendingItem.toPending() = Pending(
    localId = localId,
    fileName = fileName,
    size = size.toLong(),
    large = large,
    status = when (val s = state) {
        is PendingState.Hashing -> PendingStatus.Hashing(s.hashed.toLong())
        is PendingState.Paused -> PendingStatus.Paused(s.reason.toKind())
        is PendingState.Uploading -> PendingStatus.Uploading(s.sent.toLong(), s.total.toLong())
        is PendingState.RetryAt -> PendingStatus.RetryAt(s.atMs, s.error)
        is PendingState.Failed -> PendingStatus.Failed(s.reason, s.hint)
        PendingState.WaitingToHash -> PendingStatus.WaitingToHash
        PendingState.Queued -> PendingStatus.Queued
        PendingState.WaitingForWindow -> PendingStatus.WaitingForWindow
    },
)

/** The error's kind, sentence, advice and HTTP status (every variant carries the first three). */
internal data class ErrorFacts(val kind: ErrorKind, val message: String, val hint: String, val status: Int?)

internal fun ShoeboxException.facts(): ErrorFacts = when (this) {
    is ShoeboxException.Auth -> ErrorFacts(ErrorKind.AUTH, reason, hint, null)
    is ShoeboxException.ServerUnreachable -> ErrorFacts(ErrorKind.SERVER_UNREACHABLE, reason, hint, null)
    is ShoeboxException.QuotaExceeded -> ErrorFacts(ErrorKind.QUOTA_EXCEEDED, reason, hint, null)
    is ShoeboxException.Server -> ErrorFacts(ErrorKind.SERVER, reason, hint, status.toInt())
    is ShoeboxException.FileVanished -> ErrorFacts(ErrorKind.FILE_VANISHED, reason, hint, null)
    is ShoeboxException.FileUnreadable -> ErrorFacts(ErrorKind.FILE_UNREADABLE, reason, hint, null)
    is ShoeboxException.FileChanged -> ErrorFacts(ErrorKind.FILE_CHANGED, reason, hint, null)
    is ShoeboxException.Library -> ErrorFacts(ErrorKind.LIBRARY, reason, hint, null)
    is ShoeboxException.Database -> ErrorFacts(ErrorKind.DATABASE, reason, hint, null)
    is ShoeboxException.StateDir -> ErrorFacts(ErrorKind.STATE_DIR, reason, hint, null)
    is ShoeboxException.Config -> ErrorFacts(ErrorKind.CONFIG, reason, hint, null)
    is ShoeboxException.Cancelled -> ErrorFacts(ErrorKind.CANCELLED, reason, hint, null)
    is ShoeboxException.Internal -> ErrorFacts(ErrorKind.INTERNAL, reason, hint, null)
}
