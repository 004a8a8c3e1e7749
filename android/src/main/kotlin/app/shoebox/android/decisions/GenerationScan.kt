package app.shoebox.android.decisions

/**
 * Incremental MediaStore scans. MediaStore (Android 11+) stamps every row with
 * `GENERATION_MODIFIED`, and `MediaStore.getGeneration(volume)` is the volume's latest generation;
 * `MediaStore.getVersion(volume)` changes when the database is rebuilt (the generations then
 * start over). So a pass reads only rows with `GENERATION_MODIFIED > last seen`, plus the id
 * column of all rows to notice deletions, and merges them into the saved snapshot.
 */

/** What the last scan saw. */
data class ScanCursor(val version: String, val generation: Long, val lastFullMs: Long)

sealed class ScanPlan {
    data class Full(val why: String) : ScanPlan()

    /** Query rows with `GENERATION_MODIFIED > sinceGeneration`, and the ids of all rows. */
    data class Incremental(val sinceGeneration: Long) : ScanPlan()
}

object GenerationScanPlanner {
    /** A full rescan at least this often, to heal anything an incremental pass could miss. */
    const val FULL_EVERY_MS = 7L * 24 * 3600 * 1000

    /**
     * [currentVersion]/[currentGeneration] are null when the platform cannot answer
     * (below Android 11, or the call threw).
     */
    fun plan(saved: ScanCursor?, currentVersion: String?, currentGeneration: Long?, nowMs: Long, sdkInt: Int): ScanPlan = when {
        sdkInt < 30 -> ScanPlan.Full("no MediaStore generations before Android 11")
        currentVersion == null || currentGeneration == null -> ScanPlan.Full("MediaStore generation unavailable")
        saved == null -> ScanPlan.Full("first scan")
        saved.version != currentVersion -> ScanPlan.Full("MediaStore version changed")
        currentGeneration < saved.generation -> ScanPlan.Full("MediaStore generation went backwards")
        nowMs - saved.lastFullMs >= FULL_EVERY_MS || nowMs < saved.lastFullMs -> ScanPlan.Full("periodic full rescan")
        else -> ScanPlan.Incremental(saved.generation)
    }

    /**
     * The cursor to save after a successful pass. [generationBeforeQuery] must be read BEFORE the
     * queries, so a photo added while the queries run is read again next time, never skipped.
     */
    fun next(plan: ScanPlan, saved: ScanCursor?, version: String?, generationBeforeQuery: Long?, nowMs: Long): ScanCursor? {
        if (version == null || generationBeforeQuery == null) return null
        val lastFull = if (plan is ScanPlan.Full || saved == null) nowMs else saved.lastFullMs
        return ScanCursor(version, generationBeforeQuery, lastFull)
    }
}

/** One MediaStore row as the library reports it (local id `i:<_ID>` / `v:<_ID>`). */
data class SnapshotRow(
    val localId: String,
    val fileName: String,
    val bucketId: String?,
    val bucketName: String?,
    val size: Long,
    val modifiedMs: Long,
    val createdMs: Long,
    val video: Boolean,
)

/** The saved library: cursor + rows, in a small line format (no JSON library needed). */
data class MediaSnapshot(val cursor: ScanCursor?, val rows: Map<String, SnapshotRow>) {

    /**
     * Applies an incremental pass: [changed] rows replace or add; rows whose id is not in
     * [presentIds] (all ids MediaStore lists now) were deleted or trashed. A changed row with
     * size 0 (still being written, IS_PENDING) drops the old one until it is complete.
     */
    fun merge(changed: List<SnapshotRow>, presentIds: Set<String>, cursor: ScanCursor?): MediaSnapshot {
        val out = LinkedHashMap<String, SnapshotRow>(rows.size + changed.size)
        for ((id, r) in rows) if (id in presentIds) out[id] = r
        for (r in changed) {
            if (r.size > 0 && r.localId in presentIds) out[r.localId] = r else out.remove(r.localId)
        }
        return MediaSnapshot(cursor, out)
    }

    fun encode(): String {
        val sb = StringBuilder()
        sb.append(MAGIC)
        cursor?.let { sb.append('\t').append(esc(it.version)).append('\t').append(it.generation).append('\t').append(it.lastFullMs) }
        sb.append('\n')
        for (r in rows.values) {
            sb.append(esc(r.localId)).append('\t').append(esc(r.fileName)).append('\t')
                .append(esc(r.bucketId ?: NULL)).append('\t').append(esc(r.bucketName ?: NULL)).append('\t')
                .append(r.size).append('\t').append(r.modifiedMs).append('\t').append(r.createdMs).append('\t')
                .append(if (r.video) 'v' else 'i').append('\n')
        }
        return sb.toString()
    }

    companion object {
        private const val MAGIC = "shoebox-mediastore-v1"
        private const val NULL = "\u0000"
        val EMPTY = MediaSnapshot(null, emptyMap())

        /** Anything unreadable gives [EMPTY] (and so a full scan), never an exception. */
        fun decode(text: String): MediaSnapshot = runCatching {
            val lines = text.split('\n')
            val head = lines.first().split('\t')
            require(head[0] == MAGIC)
            val cursor = if (head.size == 4) ScanCursor(unesc(head[1]), head[2].toLong(), head[3].toLong()) else null
            val rows = LinkedHashMap<String, SnapshotRow>()
            for (line in lines.drop(1)) {
                if (line.isEmpty()) continue
                val f = line.split('\t')
                require(f.size == 8)
                val bucket = unesc(f[2]).takeIf { it != NULL }
                val bucketName = unesc(f[3]).takeIf { it != NULL }
                val r = SnapshotRow(unesc(f[0]), unesc(f[1]), bucket, bucketName, f[4].toLong(), f[5].toLong(), f[6].toLong(), f[7] == "v")
                rows[r.localId] = r
            }
            MediaSnapshot(cursor, rows)
        }.getOrDefault(EMPTY)

        private fun esc(s: String): String =
            s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

        private fun unesc(s: String): String {
            val sb = StringBuilder(s.length)
            var i = 0
            while (i < s.length) {
                val c = s[i]
                if (c == '\\' && i + 1 < s.length) {
                    sb.append(
                        when (s[i + 1]) {
                            't' -> '\t'
                            'n' -> '\n'
                            'r' -> '\r'
                            else -> s[i + 1]
                        },
                    )
                    i += 2
                } else {
                    sb.append(c)
                    i++
                }
            }
            return sb.toString()
        }
    }
}
