package app.shoebox.android.decisions

import java.io.FileNotFoundException
import java.io.IOException

/** Which MediaStore stream to open for an asset's bytes. */
enum class StreamChoice {
    /** `MediaStore.setRequireOriginal(uri)`: the file with its GPS EXIF (needs ACCESS_MEDIA_LOCATION). */
    ORIGINAL,

    /** The plain uri: location EXIF redacted by MediaStore, otherwise the same bytes. */
    REDACTED,
}

/** What the Android library turns into `PhotoLibraryException`s. */
sealed class ReadFailure(message: String) : Exception(message) {
    class Vanished(val localId: String) : ReadFailure("$localId is gone")
    class Unavailable(reason: String) : ReadFailure(reason)
    class Unreadable(val localId: String, reason: String) : ReadFailure(reason)
}

object OriginalStreamPolicy {
    /**
     * First choice: the original on Android 10+ when ACCESS_MEDIA_LOCATION is granted; the
     * redacted stream without the permission (asking for the original would only throw), and
     * below Android 10 (no redaction there).
     */
    fun firstChoice(sdkInt: Int, mediaLocationGranted: Boolean): StreamChoice =
        if (sdkInt >= 29 && mediaLocationGranted) StreamChoice.ORIGINAL else StreamChoice.REDACTED

    /**
     * After opening [choice] failed with [e]: the next stream to try, or null to give up.
     * MediaStore answers a missing or revoked ACCESS_MEDIA_LOCATION with
     * UnsupportedOperationException (from the `requireOriginal` uri) or SecurityException:
     * the redacted stream is still a complete backup, so fall back instead of failing the file.
     */
    fun fallbackAfter(choice: StreamChoice, e: Throwable): StreamChoice? = when {
        choice != StreamChoice.ORIGINAL -> null
        e is UnsupportedOperationException || e is SecurityException -> StreamChoice.REDACTED
        else -> null
    }

    /** The failure the core sees when no stream could be opened or read. */
    fun failureOf(localId: String, e: Throwable): ReadFailure = when (e) {
        is ReadFailure -> e
        is FileNotFoundException -> ReadFailure.Vanished(localId)
        is IllegalArgumentException -> ReadFailure.Vanished(localId) // unknown uri / row deleted
        is SecurityException -> ReadFailure.Unavailable("no permission to read the photo library: ${e.message}")
        is UnsupportedOperationException -> ReadFailure.Unavailable("the photo library refused the read: ${e.message}")
        is IOException -> ReadFailure.Unreadable(localId, e.message ?: e.javaClass.simpleName)
        else -> ReadFailure.Unreadable(localId, e.message ?: e.javaClass.simpleName)
    }

    /**
     * Opens and reads with fallback: calls [read] with [first], then with the fallback if the
     * first choice failed for a permission reason. Returns the bytes and the stream that served
     * them; throws [ReadFailure] otherwise. [read] returning null means the row is gone.
     */
    fun <T : Any> read(localId: String, first: StreamChoice, read: (StreamChoice) -> T?): Pair<T, StreamChoice> {
        var choice = first
        while (true) {
            try {
                val out = read(choice) ?: throw ReadFailure.Vanished(localId)
                return out to choice
            } catch (e: ReadFailure) {
                throw e
            } catch (e: Exception) {
                choice = fallbackAfter(choice, e) ?: throw failureOf(localId, e)
            }
        }
    }
}
