package app.shoebox.android

import android.content.ContentResolver
import android.content.ContentUris
import android.content.Context
import android.net.Uri
import android.os.Build
import android.provider.MediaStore
import app.shoebox.core.Album
import app.shoebox.core.AssetStat
import app.shoebox.core.LocalAsset
import app.shoebox.core.MediaType
import app.shoebox.core.PhotoLibrary
import app.shoebox.core.PhotoLibraryException
import java.io.FileNotFoundException
import java.io.IOException

/**
 * The device's photos and videos through MediaStore, as the core's foreign `PhotoLibrary`.
 *
 * - Albums are MediaStore buckets (`BUCKET_ID` / `BUCKET_DISPLAY_NAME`: "Camera", "Screenshots",
 *   "WhatsApp Images", ...). A MediaStore item is in exactly one bucket.
 * - Local ids are `"i:<_ID>"` for images and `"v:<_ID>"` for videos (the two tables have
 *   separate id spaces).
 * - Bytes are read through `ContentResolver` with `MediaStore.setRequireOriginal` so the GPS
 *   EXIF is not redacted (needs ACCESS_MEDIA_LOCATION; falls back to the redacted stream).
 *
 * The core calls this on its own background threads, never on the main thread.
 */
class MediaStorePhotoLibrary(context: Context) : PhotoLibrary {
    private val resolver: ContentResolver = context.applicationContext.contentResolver

    private data class Table(val prefix: String, val uri: Uri, val type: MediaType)

    private val tables = listOf(
        Table("i", MediaStore.Images.Media.EXTERNAL_CONTENT_URI, MediaType.IMAGE),
        Table("v", MediaStore.Video.Media.EXTERNAL_CONTENT_URI, MediaType.VIDEO),
    )

    override fun albums(): List<Album> {
        val seen = LinkedHashMap<String, String>()
        val projection = arrayOf(MediaStore.MediaColumns.BUCKET_ID, MediaStore.MediaColumns.BUCKET_DISPLAY_NAME)
        for (t in tables) {
            query(t.uri, projection)?.use { c ->
                val idCol = c.getColumnIndexOrThrow(MediaStore.MediaColumns.BUCKET_ID)
                val nameCol = c.getColumnIndexOrThrow(MediaStore.MediaColumns.BUCKET_DISPLAY_NAME)
                while (c.moveToNext()) {
                    val id = c.getString(idCol) ?: continue
                    seen.getOrPut(id) { c.getString(nameCol) ?: "Unnamed" }
                }
            }
        }
        return seen.map { (id, name) -> Album(id, name) }
    }

    override fun assets(): List<LocalAsset> {
        val out = ArrayList<LocalAsset>()
        val projection = arrayOf(
            MediaStore.MediaColumns._ID,
            MediaStore.MediaColumns.DISPLAY_NAME,
            MediaStore.MediaColumns.BUCKET_ID,
            MediaStore.MediaColumns.SIZE,
            MediaStore.MediaColumns.DATE_MODIFIED, // seconds
            MediaStore.MediaColumns.DATE_TAKEN, // milliseconds, may be 0/null
            MediaStore.MediaColumns.DATE_ADDED, // seconds
        )
        for (t in tables) {
            query(t.uri, projection)?.use { c ->
                val id = c.getColumnIndexOrThrow(MediaStore.MediaColumns._ID)
                val name = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DISPLAY_NAME)
                val bucket = c.getColumnIndexOrThrow(MediaStore.MediaColumns.BUCKET_ID)
                val size = c.getColumnIndexOrThrow(MediaStore.MediaColumns.SIZE)
                val modified = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_MODIFIED)
                val taken = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_TAKEN)
                val added = c.getColumnIndexOrThrow(MediaStore.MediaColumns.DATE_ADDED)
                while (c.moveToNext()) {
                    val bytes = c.getLong(size)
                    if (bytes <= 0) continue // still being written (IS_PENDING) or broken
                    val modifiedMs = c.getLong(modified) * 1000
                    val takenMs = c.getLong(taken).takeIf { it > 0 } ?: (c.getLong(added) * 1000)
                    out += LocalAsset(
                        localId = "${t.prefix}:${c.getLong(id)}",
                        fileName = c.getString(name) ?: "${t.prefix}${c.getLong(id)}",
                        albumIds = listOfNotNull(c.getString(bucket)),
                        size = bytes.toULong(),
                        modifiedMs = modifiedMs,
                        createdMs = takenMs,
                        mediaType = t.type,
                    )
                }
            }
        }
        return out
    }

    override fun stat(localId: String): AssetStat? {
        val uri = uriOf(localId)
        val projection = arrayOf(MediaStore.MediaColumns.SIZE, MediaStore.MediaColumns.DATE_MODIFIED)
        return try {
            resolver.query(uri, projection, null, null, null)?.use { c ->
                if (!c.moveToFirst()) null else AssetStat(c.getLong(0).toULong(), c.getLong(1) * 1000)
            }
        } catch (e: SecurityException) {
            throw PhotoLibraryException.Unavailable("no permission to read the photo library: ${e.message}")
        }
    }

    override fun read(localId: String, offset: ULong, len: UInt): ByteArray {
        val uri = uriOf(localId)
        val original = if (Build.VERSION.SDK_INT >= 29) {
            runCatching { MediaStore.setRequireOriginal(uri) }.getOrDefault(uri)
        } else {
            uri
        }
        try {
            val pfd = try {
                resolver.openFileDescriptor(original, "r")
            } catch (e: SecurityException) {
                // No ACCESS_MEDIA_LOCATION: the location-redacted stream is still a backup.
                resolver.openFileDescriptor(uri, "r")
            } ?: throw PhotoLibraryException.Vanished(localId)
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
        } catch (e: FileNotFoundException) {
            throw PhotoLibraryException.Vanished(localId)
        } catch (e: SecurityException) {
            throw PhotoLibraryException.Unavailable("no permission to read the photo library: ${e.message}")
        } catch (e: IOException) {
            throw PhotoLibraryException.Unreadable(localId, e.message ?: e.javaClass.simpleName)
        }
    }

    private fun uriOf(localId: String): Uri {
        val table = tables.firstOrNull { localId.startsWith("${it.prefix}:") }
            ?: throw PhotoLibraryException.Unreadable(localId, "not a MediaStore id")
        val id = localId.substringAfter(':').toLongOrNull()
            ?: throw PhotoLibraryException.Unreadable(localId, "not a MediaStore id")
        return ContentUris.withAppendedId(table.uri, id)
    }

    private fun query(uri: Uri, projection: Array<String>) = try {
        resolver.query(uri, projection, null, null, null)
    } catch (e: SecurityException) {
        throw PhotoLibraryException.Unavailable("no permission to read the photo library: ${e.message}")
    }
}
