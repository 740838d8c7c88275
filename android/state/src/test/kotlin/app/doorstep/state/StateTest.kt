// The Android shell's adapter (Screens.kt) on the JVM, against the real Rust library through
// the generated Kotlin bindings and a real doorstep-server on 127.0.0.1. The screens' behaviour
// is tested in Rust (server/tests/screens.rs); this proves the adapter carries it: each
// screen's views reach its StateFlow, from whichever thread the core changed them on, and a
// cancelled wait leaves the state right. Run by scripts/test.sh; prints "N passed, N failed".

package app.doorstep.state

import app.doorstep.core.*
import app.doorstep.testing.check
import app.doorstep.testing.expect
import app.doorstep.testing.finish
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import java.nio.file.Files

fun env(name: String): String = System.getenv(name) ?: throw AssertionError("$name not set")

val random = java.security.SecureRandom()

fun key(): ByteArray = ByteArray(32).also { random.nextBytes(it) }

/** A phone: its store encrypted with a fresh key, opened as the app opens it. */
fun phone(name: String): DoorstepStore {
    val path = Files.createTempDirectory("doorstep-state-$name").resolve("doorstep.db").toString()
    val opening = openStore(path, key())
    return opening.store ?: throw AssertionError("store not opened: ${opening.problem}")
}

/** Enrolls through the enrollment screen's adapter; the flow carries the enrollment. */
suspend fun enroll(store: DoorstepStore, link: String): Enrollment {
    val m = observe(EnrollmentScreen(store))
    io { m.screen.scanned(link) }
    return m.state.value.enrolled ?: throw AssertionError("not enrolled: ${m.state.value.problem}")
}

fun main() {
    val server = env("DOORSTEP_TEST_SERVER")
    val gw = phone("gw")
    val bar = observe(SyncBarScreen(gw))
    lateinit var wang: String
    lateinit var appealId: String

    check("opening the store: a wrong key and a short key are problems in kinds, the right key opens") {
        val path = Files.createTempDirectory("doorstep-key").resolve("doorstep.db").toString()
        val k = key()
        val first = openStore(path, k)
        expect(first.store != null && first.problem == null, "opened: ${first.problem}")
        first.store!!.close()
        val wrong = k.copyOf().also { it[0] = (it[0] + 1).toByte() }
        expect(openStore(path, wrong).problem?.kind == ProblemKind.WRONG_KEY, "wrong key")
        expect(openStore(path, ByteArray(5)).problem?.kind == ProblemKind.INVALID, "short key")
        expect(openStore(path, k).store != null, "reopened")
    }

    check("a bug that closed the app is handed over once at the next start (the phone library aborts on a panic)") {
        val path = Files.createTempDirectory("doorstep-crash").resolve("doorstep.db").toString()
        val k = key()
        expect(openStore(path, k).lastCrash == null, "no report on a first start")
        // What the library's panic hook writes beside the store before the process ends.
        val line = "unix 1764700000, thread sync, 0.1.0 core/src/store/sync.rs:1:1: 住户文档 broken"
        java.io.File("$path.panic").writeText(line)
        val next = openStore(path, k)
        expect(next.lastCrash == line && next.store != null, "handed over: ${next.lastCrash}")
        expect(!java.io.File("$path.panic").exists(), "removed once read")
        expect(openStore(path, k).lastCrash == null, "once only")
    }

    check("enrollment: each keystroke and a refusal reach the flow; a QR link enrolls") {
        val m = observe(EnrollmentScreen(gw))
        m.screen.setServerUrl(server)
        expect(m.state.value.serverUrl == server, "typed: ${m.state.value}")
        m.screen.setCode("WRONG-CODE-1234")
        io { m.screen.submit() }
        expect(m.state.value.problem?.kind == ProblemKind.BAD_CODE && !m.state.value.busy, "bad code: ${m.state.value}")
        val e = enroll(gw, env("DOORSTEP_TEST_LINK_GW"))
        expect(e.grids == listOf("KS") && homeScreen(gw) == HomeScreen.HOUSEHOLDS, "home ${homeScreen(gw)}")
    }

    check("the sync bar: told from the sync's own thread; a cancelled wait leaves the bar right") {
        val heard = java.util.Collections.synchronizedSet(mutableSetOf<String>())
        val watched = SyncBarScreen(gw)
        watched.setListener(object : SyncBarListener {
            override fun changed(view: SyncBarView) { heard.add(Thread.currentThread().name) }
        })
        val worker = Thread { watched.syncNow() }.apply { name = "a-background-sync"; start(); join() }
        expect(heard.contains(worker.name) && Thread.currentThread().name !in heard, "heard on $heard")
        watched.setListener(null)
        // The coroutine waiting on a sync is cancelled at once: the sync finishes in the core,
        // and the adapter's flow says so.
        coroutineScope {
            val job = launch(Dispatchers.IO) { io { bar.screen.syncNow() } }
            job.cancel()
            job.join()
        }
        var waited = 0
        while (bar.state.value.running && waited < 100) { Thread.sleep(50); waited++ }
        io { bar.screen.refresh() }
        val s = bar.state.value
        expect(!s.running && s.problem == null && s.lastSuccessAt != null && s.unsynced == 0UL, "bar $s")
    }

    check("households, a visit, the household, the ledger and the appeal: each flow follows its screen") {
        val list = observe(HouseholdListScreen(gw, listOf("KS"), 4u))
        io { list.screen.refresh() }
        expect(list.state.value.rows.size == 4 && list.state.value.more, "first page ${list.state.value.rows.size}")
        io { list.screen.setSearch("秀英") }
        wang = list.state.value.rows.single().id
        val visit = observe(VisitFormScreen(gw, wang))
        visit.screen.toggleNeed("买药")
        expect(visit.state.value.openTask && visit.state.value.taskNeed == "买药", "task preset: ${visit.state.value}")
        visit.screen.setOpenAppeal(true)
        visit.screen.setAppealSummary("楼道灯坏了")
        val out = io { visit.screen.save() } ?: throw AssertionError("not saved: ${visit.state.value.problem}")
        appealId = out.appealId ?: throw AssertionError("no appeal")
        expect(visit.state.value.saved == out, "saved in the flow")
        val house = observe(HouseholdDetailScreen(gw, wang))
        io { house.screen.refresh() }
        expect(house.state.value.visits.size == 1 && house.state.value.items?.appeals?.size == 1, "household ${house.state.value}")
        val ledger = observe(AppealLedgerScreen(gw, null))
        io { ledger.screen.refresh() }
        expect(ledger.state.value.lines.map { it.id } == listOf(appealId), "ledger ${ledger.state.value.lines}")
        expect(ledger.state.value.total == 1u && !ledger.state.value.more, "ledger counts ${ledger.state.value}")
        val appeal = observe(AppealDetailScreen(gw, appealId))
        io { appeal.screen.refresh() }
        expect(AppealEventKind.ACCEPTED in appeal.state.value.buttons, "buttons ${appeal.state.value.buttons}")
        expect(io { appeal.screen.take(AppealEventKind.ACCEPTED, "", null) }, "accepted")
        expect(appeal.state.value.appeal?.status == AppealStatus.ACCEPTED, "status in the flow")
        expect(!io { appeal.screen.take(AppealEventKind.FEEDBACK, "", null) }, "feedback refused")
        expect(appeal.state.value.problem?.kind == ProblemKind.NOT_ALLOWED ||
            appeal.state.value.problem?.field == "satisfaction", "problem ${appeal.state.value.problem}")
        io { bar.screen.refresh() }
        expect(bar.state.value.unsynced > 0UL, "changes wait: ${bar.state.value}")
        expect(io { bar.screen.syncNow() } && bar.state.value.unsynced == 0UL, "pushed: ${bar.state.value}")
    }

    check("the liaison lead's list and the supervisor's summary reach their flows") {
        val lead = phone("lead")
        val code = env("DOORSTEP_TEST_CODE_LEAD")
        val le = observe(EnrollmentScreen(lead)).also {
            it.screen.setServerUrl(server); it.screen.setCode(code); io { it.screen.submit() }
        }.state.value.enrolled ?: throw AssertionError("lead not enrolled")
        expect(homeScreen(lead) == HomeScreen.HELP_LIST, "lead's home")
        expect(io { SyncBarScreen(lead).syncNow() }, "lead synced")
        val help = observe(HelpTasksScreen(lead, le.groups, le.person.id))
        io { help.screen.refresh() }
        val task = help.state.value.open.singleOrNull() ?: throw AssertionError("open ${help.state.value.open}")
        expect(io { help.screen.claim(task.id) } && help.state.value.mine.map { it.id } == listOf(task.id), "claimed")
        val sup = phone("sup")
        val se = observe(EnrollmentScreen(sup)).also {
            it.screen.setServerUrl(server); it.screen.setCode(env("DOORSTEP_TEST_CODE_SUP")); io { it.screen.submit() }
        }.state.value.enrolled ?: throw AssertionError("supervisor not enrolled")
        expect(io { SyncBarScreen(sup).syncNow() }, "supervisor synced")
        val summary = observe(GridSummaryScreen(sup, se.grids))
        io { summary.screen.refresh() }
        val ks = summary.state.value.grids.single { it.grid == "KS" }
        expect(ks.households == 6u && ks.visited30Days == 1u, "figures $ks")
        expect(summary.state.value.asOf != null, "a supervisor's phone shows the server's figures, with their time")
        expect(summary.state.value.coveragePercent.size == summary.state.value.grids.size + 1, "percents")
    }

    check("the system's roots reach the core as the app hands them over at start") {
        val n = trustSystemRoots()
        expect(n > 50u, "roots taken: $n")
    }

    check("words: device locales map to zh-CN first, English second") {
        expect(langFor("zh-Hans-CN") == Lang.ZH_CN && langFor("en-GB") == Lang.EN && langFor("fr") == Lang.ZH_CN, "langs")
    }

    finish()
}
