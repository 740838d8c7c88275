// The JVM tests' small harness (no JUnit on this machine): named checks that report and go on,
// and a summary line with the exit status. Shared by the bindings' test (bindings/tests/kotlin)
// and the phones' state holders' test (android/state/src/test).

package app.doorstep.testing

import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess

private var passed = 0
private var failed = 0

/** Runs one named check (suspending calls allowed); a failure is printed and counted. */
fun check(name: String, body: suspend () -> Unit) {
    try {
        runBlocking { body() }
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name: $e")
        e.printStackTrace()
    }
}

fun expect(cond: Boolean, what: String) {
    if (!cond) throw AssertionError(what)
}

/** Prints "N passed, N failed" and exits non-zero if a check failed. */
fun finish() {
    println("$passed passed, $failed failed")
    if (failed > 0) exitProcess(1)
}
