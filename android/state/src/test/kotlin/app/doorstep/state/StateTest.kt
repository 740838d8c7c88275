// The shells' state holders, on the JVM, against the real Rust library (through the generated
// Kotlin bindings) and a real doorstep-server on 127.0.0.1: what each screen shows and what
// each tap does, for a grid worker, a liaison lead and a supervisor. Run by scripts/test.sh;
// prints "N passed, N failed" and exits non-zero on a failure.

package app.doorstep.state

import app.doorstep.core.*
import app.doorstep.testing.check
import app.doorstep.testing.expect
import app.doorstep.testing.finish
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import java.nio.file.Files

fun env(name: String): String = System.getenv(name) ?: throw AssertionError("$name not set")

val random = java.security.SecureRandom()

/** A phone: its store encrypted with a fresh key, as the shells open it. */
fun phone(name: String, clock: () -> Long = System::currentTimeMillis, lang: Lang = Lang.ZH_CN): Core {
    val dir = Files.createTempDirectory("doorstep-state-$name")
    val key = ByteArray(32).also { random.nextBytes(it) }
    val store = openStore(dir.resolve("doorstep.db").toString(), key).valueOrNull()
        ?: throw AssertionError("store not opened")
    return Core(store, Dispatchers.IO, clock, lang)
}

/** Enrolls a phone with a code through the enrollment screen's model. */
suspend fun enrolled(core: Core, server: String, code: String): Enrollment {
    val m = EnrollmentModel(core)
    m.setServerUrl(server)
    m.setCode(code)
    m.submit()
    return m.state.value.enrolled ?: throw AssertionError("not enrolled: ${m.state.value.problem}")
}

fun main() {
    val server = env("DOORSTEP_TEST_SERVER")
    val grid = "KS"
    val gw = phone("gw")
    lateinit var gwEnrollment: Enrollment
    lateinit var wangId: String
    lateinit var taskId: String
    lateinit var appealId: String
    val gwSyncer = Syncer(gw)
    val gwBar = SyncModel(gw, gwSyncer)

    check("enrollment: a missing server, a missing code, a wrong code, a bad QR, no network") {
        val m = EnrollmentModel(gw)
        m.submit()
        expect(m.state.value.problem?.field == "server_url", "server asked for: ${m.state.value}")
        m.setServerUrl(server)
        m.submit()
        expect(m.state.value.problem?.field == "code", "code asked for: ${m.state.value}")
        m.setCode("WRONG-CODE-1234")
        m.submit()
        expect(m.state.value.problem?.kind == Problem.Kind.BAD_CODE, "bad code: ${m.state.value.problem}")
        m.scanned("https://example.com/not-a-doorstep-code")
        expect(m.state.value.problem?.kind == Problem.Kind.INVALID, "bad QR: ${m.state.value.problem}")
        val away = EnrollmentModel(phone("away"))
        away.scanned("doorstep://enroll?server=http://127.0.0.1:9&code=ABCD-EFGH")
        expect(away.state.value.problem?.kind == Problem.Kind.OFFLINE, "offline: ${away.state.value.problem}")
        expect(m.state.value.enrolled == null && !m.state.value.busy, "nothing enrolled")
        expect(Session(gw).home() == Home.ENROLL, "still on the enrollment screen")
    }

    check("enrollment by QR code: a grid worker lands on the households") {
        val m = EnrollmentModel(gw)
        m.scanned(env("DOORSTEP_TEST_LINK_GW"))
        gwEnrollment = m.state.value.enrolled ?: throw AssertionError("not enrolled: ${m.state.value.problem}")
        expect(gwEnrollment.grids == listOf(grid), "grids ${gwEnrollment.grids}")
        expect(Session(gw).home() == Home.HOUSEHOLDS, "home ${Session(gw).home()}")
    }

    check("sync bar: the first sync pulls the grid and says when") {
        gwBar.refresh()
        expect(gwBar.state.value.lastSuccessAt == null, "never synced yet")
        expect(gwBar.syncNow(), "sync worked: ${gwBar.state.value}")
        val s = gwBar.state.value
        expect(s.unsynced == 0L && s.lastSuccessAt != null && s.problem == null && !s.running, "bar $s")
        expect(s.lastReport?.newDocs == 6u, "six households pulled: ${s.lastReport}")
    }

    check("the shared screens' adapter: told from the sync's own thread; a cancelled wait leaves the bar right") {
        val heard = java.util.Collections.synchronizedSet(mutableSetOf<String>())
        val screen = SyncBarScreen(gw.store)
        screen.setListener(object : SyncBarListener {
            override fun changed(view: SyncBarView) { heard.add(Thread.currentThread().name) }
        })
        val caller = Thread.currentThread().name
        val worker = Thread { screen.syncNow() }.apply { name = "a-background-sync"; start(); join() }
        expect(heard.contains(worker.name) && caller !in heard, "listener heard on $heard")
        expect(screen.view().problem == null && !screen.view().running, "view ${screen.view()}")
        // The coroutine waiting on a sync is cancelled at once: the sync itself finishes in the
        // core, and the adapter's state says so.
        kotlinx.coroutines.coroutineScope {
            val job = launch(Dispatchers.IO) { gwBar.syncNow() }
            job.cancel()
            job.join()
        }
        var waited = 0
        while (gwBar.state.value.running && waited < 100) { Thread.sleep(50); waited++ }
        gwBar.refresh()
        expect(!gwBar.state.value.running && gwBar.state.value.problem == null, "bar ${gwBar.state.value}")
        screen.setListener(null)
    }

    check("households: search, tag filter, not visited lately, paging") {
        val m = HouseholdsModel(gw, gwEnrollment.grids, pageSize = 4)
        m.refresh()
        expect(m.state.value.rows.size == 4 && m.state.value.more, "first page ${m.state.value.rows.size}")
        m.loadMore()
        expect(m.state.value.rows.size == 6 && !m.state.value.more, "second page ${m.state.value.rows.size}")
        m.setSearch("秀英")
        expect(m.state.value.rows.map { it.name } == listOf("赵秀英"), "search ${m.state.value.rows.map { it.name }}")
        wangId = m.state.value.rows[0].id
        m.setSearch("")
        m.setTag(AttentionTag.ELDERLY_ALONE)
        expect(m.state.value.rows.map { it.name } == listOf("赵秀英"), "tag ${m.state.value.rows.map { it.name }}")
        m.setTag(null)
        m.setNotVisitedLately(true)
        expect(m.state.value.rows.size == 4 && m.state.value.more, "never visited yet: all")
        m.setSort(HouseholdSort.LAST_VISIT_OLDEST)
        expect(m.state.value.problem == null, "no problem")
    }

    check("a visit: a need found opens a help task; an appeal without a summary saves nothing") {
        val v = VisitModel(gw, wangId)
        expect(v.state.value.kind == VisitKind.ROUTINE, "routine by default")
        v.toggleNeed("买药")
        expect(v.state.value.openTask && v.state.value.taskNeed == "买药", "task preset: ${v.state.value}")
        v.setNotes("老人腿脚不便")
        v.setOpenAppeal(true)
        v.setAppealTopic("other")
        v.setAppealTier(Tier.URGENT)
        expect(v.save() == null, "refused")
        expect(v.state.value.problem?.kind == Problem.Kind.INVALID, "problem ${v.state.value.problem}")
        expect(gw.store.household(wangId).visits.isEmpty() && gw.store.unsyncedDocs() == 0UL, "nothing written")
        v.setAppealSummary("楼道灯坏了，老人夜里看不见")
        val out = v.save() ?: throw AssertionError("not saved: ${v.state.value.problem}")
        taskId = out.taskId ?: throw AssertionError("no task")
        appealId = out.appealId ?: throw AssertionError("no appeal")
        expect(v.save() == out, "a second tap saves nothing more")
        val h = HouseholdModel(gw, wangId)
        h.refresh()
        val st = h.state.value
        expect(st.visits.size == 1 && st.visits[0].needs == listOf("买药"), "visit ${st.visits}")
        expect(st.items?.tasks?.map { it.id } == listOf(taskId), "task on the household")
        expect(st.items?.appeals?.map { it.id } == listOf(appealId), "appeal on the household")
        gwBar.refresh()
        expect(gwBar.state.value.unsynced == 3L, "household, task and appeal wait: ${gwBar.state.value}")
    }

    check("ledger: each tier's countdown in words, overdue after its window, in both languages") {
        val l = LedgerModel(gw, grid)
        l.refresh()
        val line = l.state.value.lines.single()
        expect(line.row.id == appealId && !line.overdue, "line $line")
        expect(line.countdown.startsWith("剩余") || line.countdown.startsWith("即将到期"), "words ${line.countdown}")
        // Two hours later, by the store's clock (the shared screen counts with it), in English.
        gw.store.setClock(System.currentTimeMillis() + 2 * 3_600_000L)
        val later = Core(gw.store, Dispatchers.IO, System::currentTimeMillis, Lang.EN)
        val late = LedgerModel(later, grid)
        late.setOverdueOnly(true)
        gw.store.setClock(null)
        val over = late.state.value.lines.single()
        expect(over.overdue && over.countdown.startsWith("overdue by 1 h"), "overdue ${over.countdown}")
        l.setOverdueOnly(true)
        expect(l.state.value.lines.isEmpty(), "not overdue now")
    }

    check("appeal: the buttons follow the status; a refused action writes nothing") {
        val a = AppealModel(gw, appealId)
        a.refresh()
        expect(AppealEventKind.ACCEPTED in a.state.value.actions, "accept offered")
        expect(AppealEventKind.REOPENED !in a.state.value.actions, "no reopen while open")
        expect(a.act(AppealAction.Accept), "accepted")
        expect(a.state.value.appeal?.status == AppealStatus.ACCEPTED, "status ${a.state.value.appeal?.status}")
        expect(a.act(AppealAction.Resolve("电工换了灯泡")), "resolved")
        expect(a.state.value.actions.contains(AppealEventKind.REOPENED), "reopen offered")
        expect(a.state.value.countdown == "按时办结", "met: ${a.state.value.countdown}")
        val events = a.state.value.appeal!!.events.size
        expect(!a.act(AppealAction.Accept), "accept refused once resolved")
        expect(a.state.value.problem?.kind == Problem.Kind.NOT_ALLOWED, "problem ${a.state.value.problem}")
        expect(gw.store.appeal(appealId, null).events.size == events, "nothing written")
    }

    check("the liaison lead claims and finishes the task in two taps, after syncs") {
        expect(gwBar.syncNow() && gwBar.state.value.unsynced == 0L, "pushed: ${gwBar.state.value}")
        val lead = phone("lead")
        val e = enrolled(lead, server, env("DOORSTEP_TEST_CODE_LEAD"))
        expect(Home.of(lead.store) == Home.HELP_LIST, "lead's home")
        expect(SyncModel(lead, Syncer(lead)).syncNow(), "lead synced")
        val list = HelpListModel(lead, e.groups, e.person.id)
        list.refresh()
        expect(list.state.value.open.map { it.id } == listOf(taskId), "open ${list.state.value.open}")
        expect(list.claim(taskId), "claimed")
        expect(list.state.value.mine.map { it.id } == listOf(taskId) && list.state.value.open.isEmpty(), "mine")
        expect(list.done(taskId, "药已送到"), "done")
        expect(list.state.value.doneRecently.map { it.id } == listOf(taskId) && list.state.value.mine.isEmpty(), "done list")
        expect(!list.claim(taskId), "a done task cannot be claimed")
        expect(list.state.value.problem?.kind == Problem.Kind.NOT_ALLOWED, "problem ${list.state.value.problem}")
        expect(SyncModel(lead, Syncer(lead)).syncNow(), "lead pushed")
        expect(gwBar.syncNow(), "grid worker pulled")
        val h = HouseholdModel(gw, wangId)
        h.refresh()
        expect(h.state.value.items?.tasks?.isEmpty() == true, "the task is no longer open on the grid worker's phone")
        expect(gw.store.task(taskId).state.status == TaskStatus.DONE, "done")
    }

    check("a conflict from two phones offline shows on the household and is settled") {
        val gw2 = phone("gw2")
        enrolled(gw2, server, env("DOORSTEP_TEST_CODE_GW2"))
        expect(SyncModel(gw2, Syncer(gw2)).syncNow(), "second phone synced")
        gw.store.updateHousehold(wangId, HouseholdPatch(housing = HousingStatus.RENTED))
        gw2.store.updateHousehold(wangId, HouseholdPatch(housing = HousingStatus.VACANT))
        expect(gwBar.syncNow(), "first pushed")
        expect(SyncModel(gw2, Syncer(gw2)).syncNow(), "second pushed and pulled")
        expect(gwBar.syncNow(), "first pulled")
        val h = HouseholdModel(gw, wangId)
        h.refresh()
        val conflicts = h.state.value.items?.conflicts ?: emptyList()
        expect(conflicts.size == 1 && conflicts[0].options.size == 2, "conflict $conflicts")
        val keep = conflicts[0].options.indexOfFirst { it.value.contains("vacant") || it.value.contains("空置") }
        expect(keep >= 0, "options ${conflicts[0].options}")
        expect(h.settle(conflicts[0], keep), "settled")
        expect(h.state.value.items?.conflicts?.isEmpty() == true, "no conflict left")
        expect(h.state.value.household?.housing == HousingStatus.VACANT, "kept ${h.state.value.household?.housing}")
        expect(gwBar.syncNow(), "the choice synced")
    }

    check("a supervisor's summary: the dashboard's figures over the phone's grids") {
        val sup = phone("sup")
        val e = enrolled(sup, server, env("DOORSTEP_TEST_CODE_SUP"))
        expect(Home.of(sup.store) == Home.SUMMARY, "supervisor's home")
        expect(SyncModel(sup, Syncer(sup)).syncNow(), "supervisor synced")
        val m = SummaryModel(sup, e.grids)
        m.refresh()
        val ks = m.state.value.grids.single { it.grid == grid }
        expect(ks.households == 6u && ks.visited30Days == 1u && ks.neverVisited == 5u, "coverage $ks")
        expect(ks.attention == 1u && ks.openTasks == 0u && ks.openAppeals == 0u, "figures $ks")
        expect(m.coveragePercent(ks) == 17, "percent ${m.coveragePercent(ks)}")
        expect(m.state.value.total!!.households >= 6u, "total ${m.state.value.total}")
    }

    check("a revoked (lost) phone is wiped at its next sync and goes back to enrollment") {
        val p = ProcessBuilder(env("DOORSTEP_TEST_ADMIN"), "admin", "--data", env("DOORSTEP_TEST_DATA"),
            "revoke", "--device", gwEnrollment.deviceId).inheritIO().start()
        expect(p.waitFor() == 0, "revoked")
        VisitModel(gw, wangId).run { setNotes("复访"); save() ?: throw AssertionError("visit") }
        expect(!gwBar.syncNow(), "sync refused")
        val s = gwBar.state.value
        expect(s.problem?.kind == Problem.Kind.REVOKED && s.wiped, "problem ${s.problem}, wiped ${s.wiped}")
        expect(s.unsynced == 0L, "nothing left to sync: ${s.unsynced}")
        expect(Session(gw).home() == Home.ENROLL, "back to enrollment")
        val list = HouseholdsModel(gw, listOf(grid))
        list.refresh()
        expect(list.state.value.rows.isEmpty(), "no household left")
        expect(gw.store.user() == null, "nobody signed in")
    }

    check("an encrypted store: a wrong key is refused in words, the right one opens it") {
        val path = Files.createTempDirectory("doorstep-key").resolve("doorstep.db").toString()
        val key = ByteArray(32).also { random.nextBytes(it) }
        val s = openStore(path, key).valueOrNull() ?: throw AssertionError("opened")
        s.setUser(Person("gw9", "吴网格"))
        val h = s.createHousehold(NewHousehold("KS", null, Address("9", "1", "101", ""), HousingStatus.RENTED,
            listOf(NewResident("郑秀兰", Gender.FEMALE, 1940, "13900000099", "户主", emptyList(), ""))))
        s.close()
        val wrong = key.copyOf().also { it[0] = (it[0] + 1).toByte() }
        expect(openStore(path, wrong).problemOrNull()?.kind == Problem.Kind.WRONG_KEY, "wrong key")
        expect(openStore(path, ByteArray(5)).problemOrNull()?.kind == Problem.Kind.INVALID, "short key")
        val bytes = java.io.File(path).readBytes()
        expect(!String(bytes, Charsets.ISO_8859_1).contains(String("郑秀兰".toByteArray(), Charsets.ISO_8859_1)), "no plaintext name")
        val again = openStore(path, key).valueOrNull() ?: throw AssertionError("reopened")
        expect(again.household(h.id).residents[0].name == "郑秀兰", "read back")
        again.rekey(wrong)
        again.close()
        expect(openStore(path, key).problemOrNull()?.kind == Problem.Kind.WRONG_KEY, "old key after rekey")
        expect(openStore(path, wrong).valueOrNull() != null, "new key after rekey")
    }

    check("words: device locales map to zh-CN first, English second") {
        expect(langFor("zh-Hans-CN") == Lang.ZH_CN && langFor("en-GB") == Lang.EN && langFor("fr") == Lang.ZH_CN, "langs")
        expect(Problem.fromSyncCode("server:device_revoked", "").kind == Problem.Kind.REVOKED, "revoked code")
        expect(Problem.fromSyncCode("offline", "").kind == Problem.Kind.OFFLINE, "offline code")
    }

    finish()
}
