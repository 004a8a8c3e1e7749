package app.shoebox.test

import app.shoebox.core.Album
import app.shoebox.core.AssetStat
import app.shoebox.core.LocalAsset
import app.shoebox.core.MediaType
import app.shoebox.core.PhotoLibrary
import app.shoebox.core.PhotoLibraryException
import java.io.File
import java.io.RandomAccessFile
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * A fake device library over a temp folder, implemented in Kotlin the way MediaStore/PhotoKit
 * glue implements the foreign trait: each direct subfolder is an album (id = folder name),
 * each file in it an asset (local id = "album/file").
 *
 * Test knobs: [readDelayMs] slows every read (to catch a run mid-flight), [failReads] makes reads
 * of these ids throw [PhotoLibraryException.Unreadable], and [readThreads] records which threads
 * the core called us on.
 */
class FolderPhotoLibrary(val root: File) : PhotoLibrary {
    @Volatile var readDelayMs: Long = 0
    val failReads: MutableSet<String> = ConcurrentHashMap.newKeySet()
    val readThreads: MutableSet<String> = ConcurrentHashMap.newKeySet()
    val bytesRead = AtomicLong()

    private fun albumDirs(): List<File> =
        (root.listFiles() ?: throw PhotoLibraryException.Unavailable("no library at $root"))
            .filter { it.isDirectory }
            .sortedBy { it.name }

    override fun albums(): List<Album> = albumDirs().map { Album(it.name, it.name.replaceFirstChar(Char::uppercase)) }

    override fun assets(): List<LocalAsset> = albumDirs().flatMap { dir ->
        (dir.listFiles() ?: emptyArray()).filter { it.isFile }.sortedBy { it.name }.map { f ->
            LocalAsset(
                localId = "${dir.name}/${f.name}",
                fileName = f.name,
                albumIds = listOf(dir.name),
                size = f.length().toULong(),
                modifiedMs = f.lastModified(),
                createdMs = f.lastModified(),
                mediaType = if (f.name.endsWith(".mp4")) MediaType.VIDEO else MediaType.IMAGE,
            )
        }
    }

    private fun file(localId: String): File {
        if (localId.contains("..")) throw PhotoLibraryException.Unreadable(localId, "bad id")
        return File(root, localId)
    }

    override fun stat(localId: String): AssetStat? {
        val f = file(localId)
        return if (f.isFile) AssetStat(f.length().toULong(), f.lastModified()) else null
    }

    override fun read(localId: String, offset: ULong, len: UInt): ByteArray {
        readThreads.add(Thread.currentThread().name)
        if (localId in failReads) throw PhotoLibraryException.Unreadable(localId, "injected read failure")
        if (readDelayMs > 0) Thread.sleep(readDelayMs)
        val f = file(localId)
        if (!f.isFile) throw PhotoLibraryException.Vanished(localId)
        RandomAccessFile(f, "r").use { raf ->
            val start = offset.toLong()
            val n = minOf(len.toLong(), maxOf(0L, raf.length() - start)).toInt()
            val buf = ByteArray(n)
            raf.seek(start)
            raf.readFully(buf)
            bytesRead.addAndGet(n.toLong())
            return buf
        }
    }

    /** Writes a file of [size] deterministic bytes (distinct per [seed]) into album [album]. */
    fun add(album: String, name: String, size: Int, seed: Int): File {
        val dir = File(root, album).apply { mkdirs() }
        val f = File(dir, name)
        val rnd = java.util.Random(seed.toLong())
        val bytes = ByteArray(size).also { rnd.nextBytes(it) }
        // A JPEG-ish header so the server sniffs an image; the rest is noise.
        if (size >= 3) { bytes[0] = 0xFF.toByte(); bytes[1] = 0xD8.toByte(); bytes[2] = 0xFF.toByte() }
        f.writeBytes(bytes)
        return f
    }
}
