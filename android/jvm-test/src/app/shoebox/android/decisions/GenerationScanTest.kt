package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class GenerationScanTest {
    private val day = 24L * 3600 * 1000
    private val now = 100 * day
    private val saved = ScanCursor("v1", generation = 500, lastFullMs = now - day)

    @Test
    fun firstScanOldAndroidAndUnknownGenerationAreFull() {
        assertTrue(GenerationScanPlanner.plan(null, "v1", 600, now, 34) is ScanPlan.Full)
        assertTrue(GenerationScanPlanner.plan(saved, "v1", 600, now, 29) is ScanPlan.Full)
        assertTrue(GenerationScanPlanner.plan(saved, null, null, now, 34) is ScanPlan.Full)
    }

    @Test
    fun sameVersionIsIncrementalFromTheLastGeneration() {
        assertEquals(ScanPlan.Incremental(500), GenerationScanPlanner.plan(saved, "v1", 600, now, 34))
        assertEquals(ScanPlan.Incremental(500), GenerationScanPlanner.plan(saved, "v1", 500, now, 34))
    }

    @Test
    fun versionChangeOrGenerationGoingBackIsFull() {
        assertEquals(ScanPlan.Full("MediaStore version changed"), GenerationScanPlanner.plan(saved, "v2", 600, now, 34))
        assertEquals(ScanPlan.Full("MediaStore generation went backwards"), GenerationScanPlanner.plan(saved, "v1", 10, now, 34))
    }

    @Test
    fun aWeekAfterTheLastFullScanIsFull() {
        val old = saved.copy(lastFullMs = now - 8 * day)
        assertEquals(ScanPlan.Full("periodic full rescan"), GenerationScanPlanner.plan(old, "v1", 600, now, 34))
    }

    @Test
    fun nextCursorUsesTheGenerationReadBeforeTheQuery() {
        val inc = GenerationScanPlanner.next(ScanPlan.Incremental(500), saved, "v1", 650, now)!!
        assertEquals(ScanCursor("v1", 650, saved.lastFullMs), inc)
        val full = GenerationScanPlanner.next(ScanPlan.Full("x"), saved, "v2", 3, now)!!
        assertEquals(ScanCursor("v2", 3, now), full)
        assertEquals(null, GenerationScanPlanner.next(ScanPlan.Full("x"), saved, null, null, now))
    }

    private fun row(id: String, size: Long = 10, name: String = "$id.jpg") = SnapshotRow(id, name, "b1", "Camera", size, 1000, 900, id.startsWith("v"))

    @Test
    fun mergeAddsChangesAndDropsDeletedRows() {
        val before = MediaSnapshot(saved, mapOf("i:1" to row("i:1"), "i:2" to row("i:2"), "v:3" to row("v:3")))
        val after = before.merge(
            changed = listOf(row("i:2", size = 20), row("i:4"), row("i:5", size = 0)),
            presentIds = setOf("i:2", "v:3", "i:4", "i:5"),
            cursor = saved.copy(generation = 700),
        )
        assertEquals(setOf("i:2", "v:3", "i:4"), after.rows.keys) // i:1 deleted, i:5 still pending
        assertEquals(20L, after.rows["i:2"]!!.size)
        assertEquals(700L, after.cursor!!.generation)
    }

    @Test
    fun snapshotRoundTripsAndRejectsGarbage() {
        val s = MediaSnapshot(saved, mapOf("i:1" to row("i:1", name = "tab\there\nnew\\line.jpg"), "v:2" to row("v:2").copy(bucketId = null, bucketName = null)))
        assertEquals(s, MediaSnapshot.decode(s.encode()))
        assertEquals(MediaSnapshot.EMPTY, MediaSnapshot.decode("not a snapshot"))
        assertEquals(MediaSnapshot.EMPTY, MediaSnapshot.decode(s.encode().replace("\t10\t", "\tten\t")))
        val noCursor = MediaSnapshot(null, mapOf("i:1" to row("i:1")))
        assertEquals(noCursor, MediaSnapshot.decode(noCursor.encode()))
    }
}
