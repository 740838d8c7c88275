// Exercises Doorstep's core through the generated Kotlin bindings, on the JVM, against the real
// Rust library (loaded with JNA). Run by scripts/test.sh; prints "N passed, N failed".

import app.doorstep.core.*
import app.doorstep.testing.check
import app.doorstep.testing.expect
import app.doorstep.testing.finish
import java.nio.file.Files

const val T0 = 1_793_491_200_000L // 2026-11-01T00:00:00Z
const val HOUR = 3_600_000L

fun newStore(userId: String, userName: String): DoorstepStore {
    val dir = Files.createTempDirectory("doorstep-kt")
    val store = DoorstepStore.open(dir.resolve("doorstep.db").toString())
    store.setUser(Person(userId, userName))
    store.setClock(T0)
    return store
}

fun resident(name: String, relation: String, phone: String?, tags: List<AttentionTag> = emptyList()) =
    NewResident(name, Gender.FEMALE, 1948, phone, relation, tags, "")

fun household(grid: String, building: String, room: String, vararg residents: NewResident) =
    NewHousehold(grid, "$grid-L1", Address(building, "1", room, ""), HousingStatus.OWNER_OCCUPIED, residents.toList())

fun main() {
    val gw = newStore("gw1", "张网格")
    lateinit var wangId: String
    lateinit var taskId: String
    lateinit var appealId: String

    check("open a store and add a household with residents") {
        val h = gw.createHousehold(
            household("G1", "3", "301",
                resident("王秀英", "户主", "13812345678", listOf(AttentionTag.ELDERLY_ALONE)),
                resident("李强", "子女", null))
        )
        wangId = h.id
        expect(h.residents.size == 2, "two residents")
        expect(h.displayName == "王秀英", "display name ${h.displayName}")
        expect(h.addressDisplay == "3栋1单元301室", "address ${h.addressDisplay}")
        expect(gw.unsyncedDocs() == 1UL && gw.syncCursor() == 0UL, "one document waits for its first sync")
        val rows = gw.households(HouseholdQuery(grid = "G1", search = "秀英"), T0)
        expect(rows.map { it.name } == listOf("王秀英"), "search 秀英 finds 王秀英: $rows")
        val byTag = gw.households(HouseholdQuery(grid = "G1", tag = AttentionTag.ELDERLY_ALONE), T0)
        expect(byTag.size == 1 && byTag[0].tags == listOf(AttentionTag.ELDERLY_ALONE), "tag filter")
    }

    check("record a visit that opens a help task and an appeal") {
        val out = gw.recordVisit(
            wangId,
            NewVisit(T0 - HOUR, VisitKind.ROUTINE, "老人腿脚不便", listOf("买降压药")),
            VisitTask("买降压药", T0 + 24 * HOUR),
            VisitAppeal("water_leak", Tier.BASIC_LIVING, "楼上漏水"),
        )
        taskId = out.taskId!!
        appealId = out.appealId!!
        val h = gw.household(wangId)
        expect(h.visits.size == 1 && h.visits[0].opened == listOf(taskId, appealId), "visit lists what it opened")
        val today = gw.today("G1", T0 + 20 * HOUR, 30u, 20u)
        expect(today.openTasks.map { it.id } == listOf(taskId), "today lists the task")
        expect(today.dueSoon.map { it.id } == listOf(appealId), "today lists the soon-due appeal: ${today.dueSoon}")
        val late = gw.appealLedger(AppealQuery(overdueOnly = true), T0 + 30 * HOUR)
        expect(late.size == 1 && late[0].deadline is Deadline.Overdue, "overdue after 24 h")
        expect(topicLabel("water_leak", Lang.ZH_CN) == "漏水", "topic label")
        expect(tierLabel(Tier.URGENT, Lang.EN) == "Urgent", "tier label")
    }

    check("a liaison lead claims and finishes the task") {
        val lead = newStore("lead1", "刘大妈")
        lead.importChanges(gw.exportChanges(lead.stateVector()))
        val list = lead.leadTasks("G1-L1", "lead1", T0)
        expect(list.open.map { it.id } == listOf(taskId), "the lead sees the open task")
        expect(lead.actOnTask(taskId, TaskAction.Claim).status == TaskStatus.CLAIMED, "claimed")
        expect(lead.leadTasks("G1-L1", "lead1", T0).mine.size == 1, "mine")
        val done = lead.actOnTask(taskId, TaskAction.Done("药已送到"))
        expect(done.status == TaskStatus.DONE && done.claimant?.name == "刘大妈", "done")
        gw.importChanges(lead.exportChanges(gw.stateVector()))
        expect(gw.task(taskId).state.status == TaskStatus.DONE, "the grid worker sees it done")
        expect(gw.history(taskId).map { it.what } == listOf("task.open", "task.claimed", "task.done"), "history")
    }

    check("two stores exchange changes after concurrent edits and converge") {
        val other = newStore("gw2", "李网格")
        other.importChanges(gw.exportChanges(other.stateVector()))
        val rid = gw.household(wangId).residents.first { it.name == "王秀英" }.id
        gw.updateResident(wangId, rid, ResidentPatch(phone = "13900000001"))
        other.updateResident(wangId, rid, ResidentPatch(phone = "13700000002"))
        other.recordVisit(wangId, NewVisit(null, VisitKind.FOLLOW_UP, "回访", emptyList()), null, null)
        gw.actOnAppeal(appealId, AppealAction.Whistle("房管所", ""), T0)
        val toOther = other.importChanges(gw.exportChanges(other.stateVector()))
        val toGw = gw.importChanges(other.exportChanges(gw.stateVector()))
        expect(toOther.newConflicts.size == 1 && toGw.newConflicts.size == 1, "the phone conflict is reported")
        expect(gw.stateVector().contentEquals(other.stateVector()), "equal heads")
        expect(gw.household(wangId) == other.household(wangId), "equal households")
        expect(gw.household(wangId).visits.size == 2, "both visits kept")
        expect(other.appeal(appealId, T0).status == AppealStatus.WHISTLED, "the whistle arrived")
        val c = gw.conflicts(wangId).single()
        expect(c.options.map { it.by.name }.toSet() == setOf("张网格", "李网格"), "who wrote each value")
        val pick = c.options.indexOfFirst { it.value == "13700000002" }
        gw.settleConflict(wangId, c.path, pick.toUInt())
        other.importChanges(gw.exportChanges(other.stateVector()))
        expect(other.conflicts(null).isEmpty(), "settled everywhere")
        expect(other.household(wangId).residents.first { it.id == rid }.phone == "13700000002", "the chosen value")
    }

    check("bad input gives a typed error and changes nothing") {
        val before = gw.stateVector()
        try {
            gw.createHousehold(household("G1", "5", "501", resident("", "户主", null)))
            throw AssertionError("an empty name was accepted")
        } catch (e: DoorstepException.Invalid) {
            expect(e.field == "resident.name", "field ${e.field}")
        }
        try {
            gw.recordVisit("not-an-id", NewVisit(null, VisitKind.ROUTINE, "", emptyList()), null, null)
            throw AssertionError("a malformed id was accepted")
        } catch (e: DoorstepException.Invalid) {}
        try {
            gw.importChanges("这不是变更".toByteArray())
            throw AssertionError("foreign bytes were accepted")
        } catch (e: DoorstepException.Decode) {}
        try {
            gw.actOnTask(taskId, TaskAction.Claim)
            throw AssertionError("claiming a finished task was accepted")
        } catch (e: DoorstepException.NotAllowed) {}
        try {
            gw.actOnAppeal(appealId, AppealAction.Feedback(9u, ""), null)
            throw AssertionError("satisfaction 9 was accepted")
        } catch (e: DoorstepException.Invalid) {}
        expect(gw.stateVector().contentEquals(before), "nothing changed")
    }

    gw.close()
    syncChecks()
    finish()
}
