package app.shoebox.android.decisions

import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import kotlin.system.exitProcess

/** Runs the decision tests and prints the `N passed, N failed` line; non-zero exit on failure. */
fun main() {
    val core = JUnitCore()
    core.addListener(object : org.junit.runner.notification.RunListener() {
        override fun testFailure(failure: Failure) = println("FAILED ${failure.description.className}.${failure.description.methodName}")
    })
    val r = core.run(
        SchedulingTest::class.java,
        PlatformStateTest::class.java,
        OriginalStreamTest::class.java,
        WorkerResultsTest::class.java,
        ForegroundTest::class.java,
        GenerationScanTest::class.java,
        CredentialsTest::class.java,
    )
    r.failures.forEach { println("--- ${it.testHeader}\n${it.trace}") }
    println("${r.runCount - r.failureCount} passed, ${r.failureCount} failed")
    exitProcess(if (r.wasSuccessful()) 0 else 1)
}
