package app.shoebox.test

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * The REAL `shoebox-server` binary (path from -Dshoebox.server) on 127.0.0.1:0 with a fresh
 * data directory; stderr goes to a log file printed when a test fails.
 */
class TestServer private constructor(private val process: Process, val baseUrl: String, val log: File) : AutoCloseable {
    companion object {
        const val EMAIL = "admin@example.com"
        const val PASSWORD = "correct horse battery staple"

        fun start(): TestServer {
            val bin = System.getProperty("shoebox.server") ?: error("-Dshoebox.server=<path to shoebox-server> is not set")
            val root = Files.createTempDirectory("shoebox-kt-srv-").toFile()
            val data = File(root, "data").apply { mkdirs() }
            val log = File(root, "server.log")
            val pb = ProcessBuilder(bin, "serve", "--data", data.path, "--listen", "127.0.0.1:0")
                .redirectError(ProcessBuilder.Redirect.to(log))
                .redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
            pb.environment().remove("SHOEBOX_DATA")
            pb.environment().remove("SHOEBOX_LISTEN")
            val process = pb.start()
            val lines = LinkedBlockingQueue<String>()
            Thread({
                process.inputStream.bufferedReader().forEachLine { lines.put(it) }
                lines.put("<eof>")
            }, "server-stdout").apply { isDaemon = true }.start()
            val prefix = "shoebox-server listening on "
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
            while (true) {
                val left = deadline - System.nanoTime()
                val line = lines.poll(maxOf(left, 0), TimeUnit.NANOSECONDS)
                    ?: run { process.destroyForcibly(); error("server did not start in 30 s:\n${log.readText()}") }
                if (line == "<eof>") error("server exited:\n${log.readText()}")
                if (line.startsWith(prefix)) {
                    return TestServer(process, line.removePrefix(prefix).trim().trimEnd('/'), log)
                }
            }
        }
    }

    private val http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build()

    fun post(path: String, json: String, bearer: String? = null): HttpResponse<String> {
        val b = HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
        if (bearer != null) b.header("authorization", "Bearer $bearer")
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString())
    }

    fun get(path: String, apiKey: String): HttpResponse<String> =
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + path)).header("x-api-key", apiKey).GET().build(),
            HttpResponse.BodyHandlers.ofString(),
        )

    /** Creates the admin account (the first user). */
    fun signUpAdmin() {
        val r = post("/api/auth/admin-sign-up", """{"email":"$EMAIL","password":"$PASSWORD","name":"Admin"}""")
        check(r.statusCode() == 201) { "admin-sign-up: ${r.statusCode()} ${r.body()}" }
    }

    fun stop() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }

    override fun close() = stop()
}
