package app.shoebox.android

import android.Manifest
import android.content.ContentResolver
import android.content.ContentUris
import android.content.Context
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.MediaStore
import android.util.Log
import app.shoebox.android.decisions.GenerationScanPlanner
import app.shoebox.android.decisions.MediaSnapshot
import app.shoebox.android.decisions.OriginalStreamPolicy
import app.shoebox.android.decisions.ReadFailure
import app.shoebox.android.decisions.ScanPlan
import app.shoebox.android.decisions.SnapshotRow
import app.shoebox.android.decisions.StreamChoice
import app.shoebox.core.Album
import app.shoebox.core.AssetStat
import app.shoebox.core.LocalAsset
import app.shoebox.core.MediaType
import app.shoebox.core.PhotoLibrary
import app.shoebox.core.PhotoLibraryException
import java.io.File

/**
 * The device's photos and videos through MediaStore, as the core's foreign `PhotoLibrary`.
 *
 * - Albums are MediaStore buckets (`BUCKET_ID` / `BUCKET_DISPLAY_NAME`: "Camera", "Screenshots",
 *   "WhatsApp Images", ...). A MediaStore item is in exactly one bucket.
 * - Local ids are `"i:<_ID>"` for images and `"v:<_ID>"` for videos (the two tables have
 *   separate id spaces).
 * - Scans are incremental (Android 11+): the library keeps a snapshot of the rows in
 *   [snapshotFile] and reads only rows with `GENERATION_MODIFIED` above the last seen
 *   `MediaStore.getGeneration`, plus the `_ID` column to notice deletions. A full rescan happens
 *   when `MediaStore.getVersion` changes, on the first scan, and once a week
 *   (`GenerationScanPlanner`).
 * - Bytes are read with `MediaStore.setRequireOriginal` (GPS EXIF kept) when
 *   ACCESS_MEDIA_LOCATION is granted; without it, or when MediaStore refuses the original
 *   (UnsupportedOperationException / SecurityException), the location-redacted stream is used:
 *   still a backup, never a failure (`OriginalStreamPolicy`).
 *
 * The core calls this on its own background threads, never on the main thread.
 */
class MediaStorePhotoLibrary(context: Context, private val snapshotFile: File) : PhotoLibrary {
    private val app = context.applicationContext
    private val resolver: ContentResolver = app.contentResolver
    private val lock = Any()
    private var snapshot: MediaSnapshot? = null

    private data class Table(val prefix: String, val uri: Uri, val type: MediaType)

    private val tables = listOf(
        Table("i", MediaStore.Images.Media.EXTERNAL_CONTENT_URI, MediaType.IMAGE),
        Table("v", MediaStore.Video.Media.EXTERNAL_CONTENT_URI, MediaType.VIDEO),
    )

    override fun albums(): List<Album> {
        val seen = LinkedHashMap<String, String>()
        for (r in refresh().rows.values) {
            val id = r.bucketId ?: continue
            seen.getOrPut(id) { r.bucketName ?: "Unnamed" }
        }
        return seen.map { (id, name) -> Album(id, name) }
    }

    override fun assets(): List<LocalAsset> = refresh().rows.values.map { r ->
        LocalAsset(
            localId = r.localId,
            fileName = r.fileName,
            albumIds = listOfNotNull(r.bucketId),
            size = r.size.toULong(),
            modifiedMs = r.modifiedMs,
            createdMs = r.createdMs,
            mediaType = if (r.video) MediaType.VIDEO else MediaType.IMAGE,
        )
    }

    /** Brings the snapshot up to date with a full or an incremental query, and saves it. */
    private fun refresh(): MediaSnapshot = synchronized(lock) {
        val saved = snapshot ?: load()
        val now = System.currentTimeMillis()
        // Read the generation BEFORE querying: a photo added meanwhile is read again next time.
        val version = if (Build.VERSION.SDK_INT >= 30) runCatching { MediaStore.getVersion(app, MediaStore.VOLUME_EXTERNAL) }.getOrNull() else null
        val generation = if (Build.VERSION.SDK_INT >= 30) runCatching { MediaStore.getGeneration(app, MediaStore.VOLUME_EXTERNAL) }.getOrNull() else null
        val plan = GenerationScanPlanner.plan(saved.cursor, version, generation, now, Build.VERSION.SDK_INT)
        val cursor = GenerationScanPlanner.next(plan, saved.cursor, version, generation, now)
        val fresh = when (plan) {
            is ScanPlan.Full -> MediaSnapshot(cursor, queryRows(null).filter { it.size > 0 }.associateBy { it.localId })
            is ScanPlan.Incremental -> saved.merge(queryRows(plan.sinceGeneration), queryIds(), cursor)
        }
        snapshot = fresh
        if (fresh != saved) save(fresh)
        fresh
    }

    private fun queryRows(sinceGeneration: Long?): List<SnapshotRow> {
        val out = ArrayList<SnapshotRow>()
        val projection = arrayOf(
            MediaStore.MediaColumns._ID,
            MediaStore.MediaColumns.DISPLAY_NAME,
            MediaStore.MediaColumns.BUCKET_ID,
            MediaStore.MediaColumns.BUCKET_DISPLAY_NAME,
            MediaStore.MediaColumns.SIZE,
            MediaStore.MediaColumns.DATE_MODIFIED, // seconds
            MediaStore.MediaColumns.DATE_TAKEN, // milliseconds, may be 0/null
            MediaStore.MediaColumns.DATE_ADDED, // seconds
        )
        val selection = sinceGeneration?.let { "${MediaStore.MediaColumns.GENERATION_MODIFIED} > ?" }
        val args = sinceGeneration?.let { arrayOf(it.toString()) }
        for (t in tables) {
            query(t.uri, projection, selection, args)?.use { c ->
                val id = c.getColumnIndexOrThrow(MediaStore.MediaColumns._ID)
                val name = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DISPLAY_NAME)
                val bucket = c.getColumnIndexOrThrow(MediaStore.MediaColumns.BUCKET_ID)
                val bucketName = c.getColumnIndexOrThrow(MediaStore.MediaColumns.BUCKET_DISPLAY_NAME)
                val size = c.getColumnIndexOrThrow(MediaStore.MediaColumns.SIZE)
                val modified = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_MODIFIED)
                val taken = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_TAKEN)
                val added = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_ADDED)
                while (c.moveToNext()) {
                    val rowId = c.getLong(id)
                    out += SnapshotRow(
                        localId = "${t.prefix}:$rowId",
                        fileName = c.getString(name) ?: "${t.prefix}$rowId",
                        bucketId = c.getString(bucket),
                        bucketName = c.getString(bucketName),
                        size = c.getLong(size), // 0 while still being written: dropped by the snapshot
                        modifiedMs = c.getLong(modified) * 1000,
                        createdMs = c.getLong(taken).takeIf { it > 0 } ?: (c.getLong(added) * 1000),
                        video = t.type == MediaType.VIDEO,
                    )
                }
            }
        }
        return out
    }

    /** Every id MediaStore lists now (one indexed column: cheap even for 100k items). */
    private fun queryIds(): Set<String> {
        val out = HashSet<String>()
        for (t in tables) {
            query(t.uri, arrayOf(MediaStore.MediaColumns._ID), null, null)?.use { c ->
                while (c.moveToNext()) out += "${t.prefix}:${c.getLong(0)}"
            }
        }
        return out
    }

    private fun load(): MediaSnapshot =
        runCatching { MediaSnapshot.decode(snapshotFile.readText()) }.getOrDefault(MediaSnapshot.EMPTY)

    private fun save(s: MediaSnapshot) {
        try {
            snapshotFile.parentFile?.mkdirs()
            val tmp = File(snapshotFile.path + ".tmp")
            tmp.writeText(s.encode())
            if (!tmp.renameTo(snapshotFile)) tmp.delete()
        } catch (e: Exception) {
            Log.w("Shoebox", "cannot save the MediaStore snapshot (the next scan is a full one)", e)
        }
    }

    override fun stat(localId: String): AssetStat? {
        val uri = uriOf(localId)
        val projection = arrayOf(MediaStore.MediaColumns.SIZE, MediaStore.MediaColumns.DATE_MODIFIED)
        return query(uri, projection, null, null)?.use { c ->
            if (!c.moveToFirst()) null else AssetStat(c.getLong(0).toULong(), c.getLong(1) * 1000)
        }
    }

    override fun read(localId: String, offset: ULong, len: UInt): ByteArray {
        val uri = uriOf(localId)
        val first = OriginalStreamPolicy.firstChoice(Build.VERSION.SDK_INT, mediaLocationGranted())
        try {
            return OriginalStreamPolicy.read(localId, first) { choice -> readFrom(streamUri(uri, choice), offset, len) }.first
        } catch (e: ReadFailure) {
            throw when (e) {
                is ReadFailure.Vanished -> PhotoLibraryException.Vanished(localId)
                is ReadFailure.Unavailable -> PhotoLibraryException.Unavailable(e.message ?: "the photo library is not available")
                is ReadFailure.Unreadable -> PhotoLibraryException.Unreadable(localId, e.message ?: "unreadable")
            }
        }
    }

    private fun mediaLocationGranted() = Build.VERSION.SDK_INT >= 29 &&
        app.checkSelfPermission(Manifest.permission.ACCESS_MEDIA_LOCATION) == PackageManager.PERMISSION_GRANTED

    private fun streamUri(uri: Uri, choice: StreamChoice): Uri =
        if (choice == StreamChoice.ORIGINAL && Build.VERSION.SDK_INT >= 29) MediaStore.setRequireOriginal(uri) else uri

    /** Null when MediaStore has no such row any more. Exceptions go to OriginalStreamPolicy. */
    private fun readFrom(uri: Uri, offset: ULong, len: UInt): ByteArray? {
        val pfd = resolver.openFileDescriptor(uri, "r") ?: return null
        pfd.use { fd ->
            java.io.FileInputStream(fd.fileDescriptor).channel.use { ch ->
                val buf = java.nio.ByteBuffer.allocate(len.toInt())
                var pos = offset.toLong()
                while (buf.hasRemaining()) {
                    val n = ch.read(buf, pos)
                    if (n < 0) break
                    pos += n
                }
                return buf.array().copyOf(buf.position())
            }
        }
    }

    private fun uriOf(localId: String): Uri {
        val table = tables.firstOrNull { localId.startsWith("${it.prefix}:") }
            ?: throw PhotoLibraryException.Unreadable(localId, "not a MediaStore id")
        val id = localId.substringAfter(':').toLongOrNull()
            ?: throw PhotoLibraryException.Unreadable(localId, "not a MediaStore id")
        return ContentUris.withAppendedId(table.uri, id)
    }

    private fun query(uri: Uri, projection: Array<String>, selection: String?, args: Array<String>?) = try {
        resolver.query(uri, projection, selection, args, null)
    } catch (e: SecurityException) {
        throw PhotoLibraryException.Unavailable("no permission to read the photo library: ${e.message}")
    }
}
