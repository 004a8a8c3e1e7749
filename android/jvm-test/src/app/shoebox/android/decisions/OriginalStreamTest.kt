package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.FileNotFoundException
import java.io.IOException

class OriginalStreamTest {
    @Test
    fun firstChoiceNeedsThePermissionAndAndroid10() {
        assertEquals(StreamChoice.ORIGINAL, OriginalStreamPolicy.firstChoice(34, mediaLocationGranted = true))
        assertEquals(StreamChoice.REDACTED, OriginalStreamPolicy.firstChoice(34, mediaLocationGranted = false))
        assertEquals(StreamChoice.REDACTED, OriginalStreamPolicy.firstChoice(28, mediaLocationGranted = true))
    }

    @Test
    fun unsupportedOperationFromTheOriginalFallsBackToRedacted() {
        val opened = ArrayList<StreamChoice>()
        val (bytes, choice) = OriginalStreamPolicy.read("i:1", StreamChoice.ORIGINAL) { c ->
            opened += c
            if (c == StreamChoice.ORIGINAL) throw UnsupportedOperationException("Caller must hold ACCESS_MEDIA_LOCATION")
            byteArrayOf(1, 2, 3)
        }
        assertEquals(listOf(StreamChoice.ORIGINAL, StreamChoice.REDACTED), opened)
        assertEquals(StreamChoice.REDACTED, choice)
        assertEquals(3, bytes.size)
    }

    @Test
    fun securityExceptionFromTheOriginalFallsBackToRedacted() {
        val (_, choice) = OriginalStreamPolicy.read("v:9", StreamChoice.ORIGINAL) { c ->
            if (c == StreamChoice.ORIGINAL) throw SecurityException("permission revoked") else "ok"
        }
        assertEquals(StreamChoice.REDACTED, choice)
    }

    @Test
    fun originalIsUsedWhenItOpens() {
        val (v, choice) = OriginalStreamPolicy.read("i:1", StreamChoice.ORIGINAL) { "bytes" }
        assertEquals("bytes", v)
        assertEquals(StreamChoice.ORIGINAL, choice)
    }

    @Test
    fun aFailingRedactedStreamIsNotRetriedForever() {
        var calls = 0
        try {
            OriginalStreamPolicy.read("i:1", StreamChoice.ORIGINAL) { calls++; throw SecurityException("no READ_MEDIA_IMAGES") }
            fail("expected a failure")
        } catch (e: ReadFailure.Unavailable) {
            assertTrue(e.message!!.contains("no permission"))
        }
        assertEquals(2, calls)
    }

    @Test
    fun failuresMapToWhatTheCoreExpects() {
        assertTrue(OriginalStreamPolicy.failureOf("i:1", FileNotFoundException("gone")) is ReadFailure.Vanished)
        assertTrue(OriginalStreamPolicy.failureOf("i:1", IOException("EIO")) is ReadFailure.Unreadable)
        assertTrue(OriginalStreamPolicy.failureOf("i:1", SecurityException("x")) is ReadFailure.Unavailable)
        // A missing row is a vanished file, not a failure.
        try {
            OriginalStreamPolicy.read("i:1", StreamChoice.REDACTED) { null as String? }
            fail("expected Vanished")
        } catch (e: ReadFailure.Vanished) {
            assertEquals("i:1", e.localId)
        }
    }

    @Test
    fun onlyPermissionErrorsOnTheOriginalFallBack() {
        assertNull(OriginalStreamPolicy.fallbackAfter(StreamChoice.ORIGINAL, FileNotFoundException()))
        assertNull(OriginalStreamPolicy.fallbackAfter(StreamChoice.REDACTED, UnsupportedOperationException()))
        assertEquals(StreamChoice.REDACTED, OriginalStreamPolicy.fallbackAfter(StreamChoice.ORIGINAL, UnsupportedOperationException()))
    }
}
