package app.shoebox.test

import app.shoebox.core.AlbumSelection
import app.shoebox.core.BackupState
import app.shoebox.core.FileFailure
import app.shoebox.core.NetworkKind
import app.shoebox.core.NetworkState
import app.shoebox.core.PauseReason
import app.shoebox.core.PendingState
import app.shoebox.core.Phase
import app.shoebox.core.PowerState
import app.shoebox.core.Progress
import app.shoebox.core.ProgressObserver
import app.shoebox.core.Shoebox
import app.shoebox.core.ShoeboxConfig
import app.shoebox.core.ShoeboxException
import app.shoebox.core.StopReason
import app.shoebox.core.TimelineFilter
import app.shoebox.core.login
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TestWatcher
import org.junit.runner.Description
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

/** Records what the core reports, and on which threads. */
class RecordingObserver : ProgressObserver {
    val events = CopyOnWriteArrayList<Progress>()
    val failures = CopyOnWriteArrayList<FileFailure>()
    val threads = CopyOnWriteArrayList<String>()
    @Volatile var onEvent: (Progress) -> Unit = {}

    override fun onProgress(progress: Progress) {
        threads.add(Thread.currentThread().name)
        events.add(progress)
        onEvent(progress)
    }

    override fun onFileFailed(failure: FileFailure) {
        threads.add(Thread.currentThread().name)
        failures.add(failure)
    }
}

class ShoeboxTest {
    private lateinit var server: TestServer
    private lateinit var tmp: File
    private lateinit var lib: FolderPhotoLibrary
    private val opened = mutableListOf<Shoebox>()

    @get:Rule
    val dumpLogOnFailure = object : TestWatcher() {
        override fun failed(e: Throwable, description: Description) {
            if (::server.isInitialized) System.err.println("--- server log (${description.methodName}) ---\n" + server.log.readText().takeLast(4000))
        }
    }

    @Before
    fun setUp() {
        tmp = Files.createTempDirectory("shoebox-kt-").toFile()
        lib = FolderPhotoLibrary(File(tmp, "library").apply { mkdirs() })
        server = TestServer.start()
        server.signUpAdmin()
    }

    @After
    fun tearDown() {
        opened.forEach { it.close() }
        server.stop()
        tmp.deleteRecursively()
    }

    private fun apiKey(): String = runBlocking { login(server.baseUrl, TestServer.EMAIL, TestServer.PASSWORD, "kotlin-test") }

    private fun open(
        key: String,
        observer: ProgressObserver? = null,
        state: String = "state",
        reportState: Boolean = true,
    ): Shoebox =
        Shoebox(
            ShoeboxConfig(
                serverUrl = server.baseUrl,
                apiKey = key,
                stateDir = File(tmp, state).path,
                deviceId = "kotlin-jvm-test",
                thumbnailCacheBytes = 8uL shl 20,
            ),
            lib,
            observer,
        ).also {
            opened.add(it)
            // The platform glue reports network and power before any run (unknown allows nothing).
            if (reportState) {
                it.setNetwork(wifi())
                it.setPower(PowerState(charging = true, lowPower = false))
            }
        }

    private fun wifi() = NetworkState(NetworkKind.WIFI, false)
    private fun cellular() = NetworkState(NetworkKind.CELLULAR, true)

    @Test
    fun loginAlbumsSelectionAndBackupWithProgressFromRustThreads() = runBlocking {
        repeat(3) { lib.add("camera", "IMG_$it.jpg", 200_000 + it, seed = it) }
        repeat(2) { lib.add("screenshots", "SCR_$it.jpg", 50_000 + it, seed = 100 + it) }
        val observer = RecordingObserver()
        val shoebox = open(apiKey(), observer)
        assertEquals(TestServer.EMAIL, shoebox.checkServer().email)

        val albums = shoebox.albums().associateBy { it.id }
        assertEquals(setOf("camera", "screenshots"), albums.keys)
        assertEquals(3uL, albums.getValue("camera").assetCount)
        assertEquals(2uL, albums.getValue("screenshots").assetCount)
        assertTrue(albums.values.all { it.selected && !it.excluded })

        shoebox.setSelection(AlbumSelection(selected = null, excluded = listOf("screenshots")))
        assertTrue(shoebox.albums().single { it.id == "screenshots" }.excluded)

        shoebox.setNetwork(wifi())
        val testThread = Thread.currentThread().name
        val report = shoebox.run()
        assertNull("completed: ${report.stopped}", report.stopped)
        assertEquals(3uL, report.uploaded)
        assertEquals(0uL, report.failed)
        assertEquals(0uL, report.remaining)
        assertTrue(report.bytesSent >= 600_000uL)

        val status = shoebox.status()
        assertEquals(3uL, status.done)
        assertEquals(0uL, status.queued)
        assertEquals("completed", status.lastRun?.outcome)

        // Progress came through the foreign callback, from Rust threads (not the caller's).
        assertTrue("progress events", observer.events.isNotEmpty())
        assertTrue("phases seen: ${observer.events.map { it.phase }.toSet()}", observer.events.any { it.phase == Phase.Uploading })
        assertEquals(3uL, observer.events.maxOf { it.filesUploaded })
        assertTrue("callback threads ${observer.threads.toSet()}", observer.threads.none { it == testThread })
        assertTrue("library read threads ${lib.readThreads}", lib.readThreads.isNotEmpty() && testThread !in lib.readThreads)

        // A second run finds nothing to do and reads no bytes (stat-only rescan).
        val before = lib.bytesRead.get()
        val again = shoebox.run()
        assertEquals(0uL, again.uploaded)
        assertEquals(0uL, again.scan.hashedFiles)
        assertEquals(before, lib.bytesRead.get())
    }

    @Test
    fun nothingIsSentUntilThePlatformReportsItsStateAndPendingSaysWhy() = runBlocking {
        repeat(2) { lib.add("camera", "IMG_$it.jpg", 120_000, seed = 300 + it) }
        val shoebox = open(apiKey(), reportState = false)
        val unknown = shoebox.runFor(30uL)
        assertEquals(StopReason.Paused(PauseReason.STATE_UNKNOWN), unknown.stopped)
        assertEquals(0uL, unknown.bytesSent)
        // Nothing hashed or queued yet: the scan stopped before any network request.
        val waiting = shoebox.pending()
        assertEquals(2, waiting.size)
        assertTrue("$waiting", waiting.all { it.state == PendingState.WaitingToHash || it.state is PendingState.Paused })

        shoebox.setNetwork(wifi())
        shoebox.setPower(PowerState(charging = false, lowPower = false))
        val done = shoebox.runFor(60uL)
        assertNull("${done.stopped}", done.stopped)
        assertEquals(2uL, done.uploaded)
        assertTrue(shoebox.pending().isEmpty())

        // A library change with no run going only marks it for the next run.
        shoebox.libraryChanged()
        assertEquals(0, shoebox.pending().size)
    }

    @Test
    fun wifiOnlyPausesOnCellularAndResumesWhenWifiIsPushed() = runBlocking {
        repeat(3) { lib.add("camera", "IMG_$it.jpg", 100_000, seed = it) }
        val observer = RecordingObserver()
        val shoebox = open(apiKey(), observer)
        assertTrue("Wi-Fi only is the default", shoebox.settings().wifiOnly)

        // A bounded (background) run on cellular does not wait: it stops paused, nothing sent.
        shoebox.setNetwork(cellular())
        val bounded = shoebox.runFor(30uL)
        assertEquals(StopReason.Paused(PauseReason.WAITING_FOR_WIFI), bounded.stopped)
        assertEquals(0uL, bounded.uploaded)
        assertEquals(0uL, bounded.bytesSent)
        assertEquals(3uL, shoebox.status().queued)

        // A foreground run waits while paused and resumes as soon as Wi-Fi is pushed.
        val paused = CountDownLatch(1)
        observer.onEvent = { if (it.phase == Phase.Paused(PauseReason.WAITING_FOR_WIFI)) paused.countDown() }
        val run = async(Dispatchers.Default) { shoebox.run() }
        assertTrue("the run reported Paused(WAITING_FOR_WIFI)", paused.await(20, TimeUnit.SECONDS))
        assertEquals("waiting for Wi-Fi (Wi-Fi only is on)", observer.events.last { it.phase is Phase.Paused }.pauseMessage)
        assertFalse(run.isCompleted)
        assertEquals(3uL, shoebox.status().queued)
        shoebox.setNetwork(wifi())
        val report = withTimeout(60_000) { run.await() }
        assertNull(report.stopped)
        assertEquals(3uL, report.uploaded)
        assertEquals(0uL, shoebox.status().queued)

        // Turning Wi-Fi only off lets cellular upload.
        lib.add("camera", "IMG_new.jpg", 10_000, seed = 42)
        shoebox.setSettings(shoebox.settings().copy(wifiOnly = false))
        shoebox.setNetwork(cellular())
        assertEquals(1uL, shoebox.runFor(30uL).uploaded)
    }

    @Test
    fun cancelStopsARunningBackupAndTheNextRunFinishesIt() = runBlocking {
        repeat(4) { lib.add("camera", "VID_$it.mp4", 1_500_000, seed = it) }
        val observer = RecordingObserver()
        val shoebox = open(apiKey(), observer)
        shoebox.setSettings(shoebox.settings().copy(parallelUploads = 1u))
        lib.readDelayMs = 250
        val firstDone = CountDownLatch(1)
        observer.onEvent = { if (it.filesUploaded >= 1uL) firstDone.countDown() }
        val run = async(Dispatchers.Default) { shoebox.run() }
        assertTrue("a first file was uploaded", firstDone.await(60, TimeUnit.SECONDS))
        shoebox.cancel()
        val cancelled = withTimeout(30_000) { run.await() }
        assertEquals(StopReason.Cancelled, cancelled.stopped)
        assertTrue("uploaded ${cancelled.uploaded}", cancelled.uploaded in 1uL..3uL)
        assertEquals(4uL - cancelled.uploaded, cancelled.remaining)
        assertEquals(cancelled.remaining, shoebox.status().queued)

        lib.readDelayMs = 0
        val rest = shoebox.run()
        assertNull(rest.stopped)
        assertEquals(cancelled.remaining, rest.uploaded)
        assertEquals(4uL, shoebox.status().done)
    }

    @Test
    fun timelineReadsOfflineAfterTheServerStops() = runBlocking {
        repeat(3) { lib.add("camera", "IMG_$it.jpg", 30_000, seed = it) }
        val shoebox = open(apiKey())
        shoebox.setNetwork(wifi())
        assertEquals(3uL, shoebox.run().uploaded)
        val sync = shoebox.syncTimeline()
        assertTrue("synced ${sync.upserted}", sync.upserted >= 3uL)

        val all = TimelineFilter()
        val buckets = shoebox.timelineBuckets(all)
        assertTrue(buckets.isNotEmpty())
        val items = buckets.flatMap { shoebox.timelineBucket(it.month, all) }
        val backedUp = items.filter { it.state == BackupState.BackedUp }
        assertEquals("items: $items", 3, backedUp.size)
        val remoteId = assertNotNull(backedUp.first().remoteId).let { backedUp.first().remoteId!! }

        server.stop()

        // Offline: the same months and items, straight from the client database.
        assertEquals(buckets, shoebox.timelineBuckets(all))
        assertEquals(items, buckets.flatMap { shoebox.timelineBucket(it.month, all) })
        // Offline actions queue and show at once.
        shoebox.setFavorite(remoteId, true)
        assertEquals(1uL, shoebox.pendingActions())
        val favs = shoebox.timelineBuckets(TimelineFilter(favoritesOnly = true))
        assertEquals(1uL, favs.sumOf { it.count })
        // The network calls fail with a typed, explained error.
        try {
            shoebox.syncTimeline()
            fail("sync with the server down must fail")
        } catch (e: ShoeboxException.ServerUnreachable) {
            assertTrue(e.reason, e.reason.contains("cannot reach the server"))
            assertTrue(e.hint.isNotBlank())
        }
        assertEquals(1uL, shoebox.pendingActions())
        assertNull(shoebox.cachedThumbnailPath(remoteId, app.shoebox.core.ThumbSize.THUMBNAIL))
    }

    @Test
    fun errorsFromRustArriveAsKotlinExceptionsWithMessageAndHint() = runBlocking {
        val shoebox = open("not-a-valid-key")
        try {
            shoebox.checkServer()
            fail("a wrong API key must be rejected")
        } catch (e: ShoeboxException.Auth) {
            assertTrue(e.reason, e.reason.contains("rejected the credentials"))
            assertTrue("Kotlin message carries both: ${e.message}", e.message.contains(e.hint))
            assertEquals("Log in again or create a new API key on the server.", e.hint)
        }
        lib.add("camera", "IMG_0.jpg", 1000, seed = 1)
        val viaRun = runCatching { shoebox.run() }.exceptionOrNull()
        assertTrue("run: $viaRun", viaRun is ShoeboxException.Auth)

        val badLogin = runCatching { login(server.baseUrl, TestServer.EMAIL, "wrong password", "x") }.exceptionOrNull()
        assertTrue("login: $badLogin", badLogin is ShoeboxException.Auth)

        val badUrl = runCatching {
            Shoebox(ShoeboxConfig("ftp://example.com", "k", File(tmp, "s2").path, "d", null), lib, null)
        }.exceptionOrNull()
        assertTrue("config: $badUrl", badUrl is ShoeboxException.Config)
        assertTrue((badUrl as ShoeboxException.Config).reason.contains("http://"))

        val badSettings = runCatching { shoebox.setSettings(shoebox.settings().copy(parallelUploads = 0u)) }.exceptionOrNull()
        assertTrue("settings: $badSettings", badSettings is ShoeboxException.Config)
    }

    @Test
    fun aKotlinLibraryErrorBecomesAFileFailureNotACrash() = runBlocking {
        lib.add("camera", "good.jpg", 20_000, seed = 1)
        lib.add("camera", "bad.jpg", 20_000, seed = 2)
        lib.failReads.add("camera/bad.jpg")
        val observer = RecordingObserver()
        val shoebox = open(apiKey(), observer)
        shoebox.setNetwork(wifi())
        val report = shoebox.run()
        assertEquals(1uL, report.uploaded)
        assertEquals(1uL, report.failed)
        val failure = report.failures.single()
        assertEquals("camera/bad.jpg", failure.localId)
        assertTrue(failure.message, failure.message.contains("injected read failure"))
        assertTrue(failure.hint.isNotBlank())
        assertTrue("onFileFailed: ${observer.failures}", observer.failures.any { it.localId == "camera/bad.jpg" } || report.scan.failures.isNotEmpty())

        // Fixed on the device: the next run backs it up.
        lib.failReads.clear()
        assertEquals(1uL, shoebox.run().uploaded)
    }
}
