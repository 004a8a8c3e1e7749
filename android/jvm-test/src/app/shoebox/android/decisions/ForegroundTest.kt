package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class ForegroundTest {
    @Test
    fun onlyUserStartedRunsAreForeground() {
        for (t in Trigger.entries) {
            val plan = ForegroundPolicy.plan(t, sdkInt = 34)
            assertEquals("$t", t == Trigger.USER, plan.foreground)
            assertEquals("$t dataSync only for user-started runs", t == Trigger.USER, plan.dataSyncType)
        }
        assertFalse(ForegroundPolicy.plan(Trigger.USER, sdkInt = 28).dataSyncType)
    }

    @Test
    fun throttlePostsOncePerSecondButPausesAtOnce() {
        val t = NotificationThrottle(1000)
        assertTrue(t.shouldPost(0, "uploading"))
        assertFalse(t.shouldPost(500, "uploading"))
        assertTrue(t.shouldPost(600, "paused:WAITING_FOR_WIFI"))
        assertFalse(t.shouldPost(700, "paused:WAITING_FOR_WIFI"))
        assertTrue(t.shouldPost(1700, "paused:WAITING_FOR_WIFI"))
    }

    @Test
    fun notificationNamesUploadsFirstAndNeverListsTheQueue() {
        val pending = listOf(
            Pending("1", "queued.jpg", 10, false, PendingStatus.Queued),
            Pending("2", "bad.heic", 10, false, PendingStatus.Failed("unreadable", "check storage")),
            Pending("3", "half.mp4", 100, true, PendingStatus.Uploading(50, 100)),
            Pending("4", "most.mp4", 100, true, PendingStatus.Uploading(90, 100)),
            Pending("5", "hashing.jpg", 200, false, PendingStatus.Hashing(100)),
            Pending("6", "waiting.jpg", 10, false, PendingStatus.WaitingToHash),
            Pending("7", "later.jpg", 10, false, PendingStatus.RetryAt(atMs = 120_000, error = "503")),
        )
        val lines = NotificationText.linesFor(pending, nowMs = 0)
        assertEquals(
            listOf("most.mp4 — 90%", "half.mp4 — 50%", "hashing.jpg — checking (50%)", "bad.heic — unreadable"),
            lines,
        )
        assertTrue(lines.none { it.startsWith("queued") || it.startsWith("waiting") })
    }

    @Test
    fun retryLineSaysWhen() {
        val lines = NotificationText.linesFor(listOf(Pending("7", "later.jpg", 10, false, PendingStatus.RetryAt(120_000, "503"))), nowMs = 0)
        assertEquals(listOf("later.jpg — retry in 2 min"), lines)
    }

    @Test
    fun contentShowsPauseOrProgress() {
        val paused = NotificationText.content(ProgressView(1, 10, 5, 100, null, "waiting for Wi-Fi"), emptyList(), 0)
        assertEquals("Backup paused", paused.title)
        assertEquals("waiting for Wi-Fi", paused.text)
        assertNull(paused.percent)
        val running = NotificationText.content(ProgressView(3, 10, 25, 100, 125, null), emptyList(), 0)
        assertEquals("3 of 10 · 2 min left", running.text)
        assertEquals(25, running.percent)
        assertNull(NotificationText.content(ProgressView(0, 0, 0, 0, null, null), emptyList(), 0).percent)
    }
}
