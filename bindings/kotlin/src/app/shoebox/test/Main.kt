package app.shoebox.test

import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import kotlin.system.exitProcess

/** Runs the JUnit4 tests and prints the `N passed, N failed` line CI reads. */
fun main() {
    val core = JUnitCore()
    core.addListener(object : org.junit.runner.notification.RunListener() {
        override fun testStarted(description: org.junit.runner.Description) = println("test ${description.methodName} ...")
        override fun testFailure(failure: Failure) = println("FAILED ${failure.description.methodName}")
    })
    val r = core.run(ShoeboxTest::class.java)
    r.failures.forEach { println("--- ${it.testHeader}\n${it.trace}") }
    println("${r.runCount - r.failureCount} passed, ${r.failureCount} failed")
    exitProcess(if (r.wasSuccessful()) 0 else 1)
}
