// Sync through the generated Kotlin bindings against a real doorstep-server on 127.0.0.1
// (started by scripts/test.sh, which passes its address and two enrollment codes).

import app.doorstep.core.*
import app.doorstep.testing.check
import app.doorstep.testing.expect
import java.nio.file.Files

fun phone(): DoorstepStore {
    val dir = Files.createTempDirectory("doorstep-kt-phone")
    return DoorstepStore.open(dir.resolve("phone.db").toString())
}

fun syncChecks() {
    val server = System.getenv("DOORSTEP_TEST_SERVER") ?: throw AssertionError("DOORSTEP_TEST_SERVER not set")
    val link1 = System.getenv("DOORSTEP_TEST_LINK1") ?: throw AssertionError("DOORSTEP_TEST_LINK1 not set")
    val code2 = System.getenv("DOORSTEP_TEST_CODE2") ?: throw AssertionError("DOORSTEP_TEST_CODE2 not set")
    val p1 = phone()
    val p2Dir = Files.createTempDirectory("doorstep-kt-phone2")
    var p2 = DoorstepStore.open(p2Dir.resolve("phone.db").toString())

    check("enroll from a QR code and pull the grid in one round trip") {
        val link = parseEnrollmentLink(link1)
        expect(link.serverUrl == server, "server ${link.serverUrl}")
        val e = p1.enroll(link.serverUrl, link.code)
        expect(e.role == "grid_worker" && e.grids == listOf("KT"), "enrollment $e")
        expect(p1.user()?.id == e.person.id, "the person is signed in")
        val r = p1.sync()
        expect(r.roundTrips == 1u && r.newDocs == 5u, "report $r")
        expect(p1.households(HouseholdQuery(grid = "KT"), null).size == 5, "five households")
        expect(p1.enrollment()?.deviceId == e.deviceId, "enrollment kept")
    }

    check("a visit recorded on one phone reaches another") {
        val h = p1.households(HouseholdQuery(grid = "KT"), null).first()
        p1.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "从 Kotlin 记录", emptyList()), null, null)
        expect(p1.unsyncedDocs() == 1UL, "one document waits")
        val r = p1.sync()
        expect(r.pushedDocs == 1u && r.roundTrips == 1u, "report $r")
        expect(p1.unsyncedDocs() == 0UL, "acknowledged")
        p2.enroll(server, code2)
        p2.sync()
        expect(p2.household(h.id).visits.any { it.notes == "从 Kotlin 记录" }, "the visit arrived")
    }

    check("a supervisor's phone refuses what the server would, before writing (the one rule set)") {
        val codeSup = System.getenv("DOORSTEP_TEST_CODE_SUP2") ?: throw AssertionError("DOORSTEP_TEST_CODE_SUP2 not set")
        val h = p1.households(HouseholdQuery(grid = "KT"), null).first()
        val out = p1.recordVisit(
            h.id, NewVisit(null, VisitKind.ROUTINE, "楼道堆物", emptyList()), null,
            VisitAppeal("other", Tier.GENERAL, "楼道堆物"),
        )
        p1.sync()
        val sup = phone()
        val e = sup.enroll(server, codeSup)
        expect(e.role == "supervisor", "enrollment $e")
        sup.sync()
        val appealId = out.appealId!!
        // A supervisor's phone holds its units' open appeals and the server's figures, not the
        // households: it fetches one when it opens it.
        expect(sup.households(HouseholdQuery(grid = "KT"), null).isEmpty(), "no household pulled")
        val fig = sup.gridSummaries(listOf("KT"), null).single()
        expect(fig.households == 5u && fig.openAppeals >= 1u, "the server's figures: $fig")
        val fetched = sup.fetchHousehold(h.id)
        expect(fetched.failed.isEmpty(), "fetched: $fetched")
        expect(sup.household(h.id).visits.any { it.notes == "楼道堆物" }, "the household, fetched")
        try {
            sup.setAppealTier(appealId, Tier.URGENT)
            throw AssertionError("a supervisor changed a tier")
        } catch (x: DoorstepException.Refused) {
            expect(x.rule == "not_editable" && x.docId == appealId, "refusal ${x.rule} ${x.docId}")
            expect(x.reasonZh.isNotEmpty() && x.reasonEn.isNotEmpty(), "plain words in both languages")
        }
        try {
            sup.actOnAppeal(appealId, AppealAction.Resolve("办结"), null)
            throw AssertionError("a supervisor resolved an appeal")
        } catch (x: DoorstepException.Refused) {
            expect(x.rule == "event_kind", "refusal ${x.rule}")
        }
        expect(sup.unsyncedDocs() == 0UL, "nothing was written")
        sup.actOnAppeal(appealId, AppealAction.Escalate("转街道"), null)
        val r = sup.sync()
        expect(r.pushedDocs == 1u && r.failed.isEmpty(), "the escalation synced: $r")
        sup.close()
    }

    check("typed errors: a used code, no network") {
        try {
            phone().enroll(server, code2)
            throw AssertionError("a used code was accepted")
        } catch (e: DoorstepException.Server) {
            expect(e.status == 401.toUShort() && e.code == "bad_enrollment_code", "code ${e.code}")
        }
        try {
            phone().enroll("http://127.0.0.1:9", "ABCD-EFGH-JKMN")
            throw AssertionError("no server, yet enrolled")
        } catch (e: DoorstepException.Offline) {}
        try {
            parseEnrollmentLink("https://example.com")
            throw AssertionError("a foreign link was accepted")
        } catch (e: DoorstepException.Invalid) {}
    }

    check("a server CA: junk refused, none accepted") {
        val p = phone()
        try {
            p.setServerCa("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            throw AssertionError("a broken certificate was accepted")
        } catch (e: DoorstepException.Invalid) {
            expect(e.field == "server_ca", "field ${e.field}")
        }
        p.setServerCa(null)
        p.close()
        try {
            setSystemRoots(listOf(ByteArray(0), "junk".toByteArray()))
            throw AssertionError("junk taken as the system's roots")
        } catch (e: DoorstepException.Invalid) {
            expect(e.field == "system_roots", "field ${e.field}")
        }
    }
    check("a phone restored from an older copy of its store gets back what it synced and keeps syncing") {
        val h = p2.households(HouseholdQuery(grid = "KT"), null).first()
        fun visits(p: DoorstepStore, note: String) = p.household(h.id).visits.count { it.notes == note }
        p2.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "备份前", emptyList()), null, null)
        p2.sync()
        val actor = p2.actorId()
        p2.close()
        val backup = Files.createTempDirectory("doorstep-kt-backup")
        fun copyStore(from: java.nio.file.Path, to: java.nio.file.Path) {
            for (suffix in listOf("", "-wal", "-shm")) {
                Files.deleteIfExists(to.resolve("phone.db$suffix"))
                val f = from.resolve("phone.db$suffix")
                if (Files.exists(f)) Files.copy(f, to.resolve("phone.db$suffix"))
            }
        }
        copyStore(p2Dir, backup)
        p2 = DoorstepStore.open(p2Dir.resolve("phone.db").toString())
        expect(p2.actorId() != actor, "a new actor at every open")
        p2.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "备份后", emptyList()), null, null)
        p2.sync()
        p2.close()
        copyStore(backup, p2Dir)
        p2 = DoorstepStore.open(p2Dir.resolve("phone.db").toString())
        expect(visits(p2, "备份后") == 0, "the copy lacks what came after it")
        p2.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "恢复后", emptyList()), null, null)
        val r = p2.sync()
        expect(r.failed.isEmpty() && r.restoredChanges >= 1u, "report $r")
        expect(visits(p2, "备份后") == 1 && visits(p2, "恢复后") == 1 && visits(p2, "备份前") == 1, "each visit once")
        expect(p2.sync().restoredChanges == 0u, "quiet afterwards")
        expect(r.clockOffsetMs != null && !p2.syncStatus().clockWrong, "the server's clock learnt: ${r.clockOffsetMs}")
    }

    check("a document refused after a scope change is shown in words and can be dropped") {
        val h = p1.households(HouseholdQuery(grid = "KT"), null).first()
        p1.updateHousehold(h.id, HouseholdPatch(housing = HousingStatus.VACANT))
        val person = p1.enrollment()!!.person.id
        val admin = ProcessBuilder(
            System.getenv("DOORSTEP_TEST_ADMIN"), "admin", "--data", System.getenv("DOORSTEP_TEST_DATA"),
            "set-units", "--person", person, "--unit", "KS",
        ).inheritIO().start()
        expect(admin.waitFor() == 0, "moved to grid KS")
        val r = p1.sync()
        expect(r.failed.size == 1 && r.failed[0].docId == h.id && r.failed[0].rule == "out_of_scope", "report $r")
        expect(r.failed[0].reasonZh.isNotEmpty() && r.failed[0].reasonEn.isNotEmpty(), "plain words")
        val refused = p1.refusedDocs()
        expect(refused.size == 1 && refused[0].actions.map { it.what } == listOf("household.update"), "refused $refused")
        expect(r.droppedDocs >= 4u && p1.households(HouseholdQuery(grid = "KT"), null).map { it.id } == listOf(h.id),
            "the rest of grid KT left the phone, the refused household stays: $r")
        p1.dropRefused(h.id)
        expect(p1.unsyncedDocs() == 0UL && p1.refusedDocs().isEmpty(), "dropped")
        expect(p1.households(HouseholdQuery(grid = "KT"), null).isEmpty(), "nothing of grid KT stays")
        expect(runCatching { p1.household(h.id) }.isFailure, "the household is gone, not the server's copy")
        expect(p1.sync().failed.isEmpty(), "the next sync is clean")
    }

    fun admin(vararg args: String) {
        val run = ProcessBuilder(
            System.getenv("DOORSTEP_TEST_ADMIN"), "admin", "--data", System.getenv("DOORSTEP_TEST_DATA"), *args,
        ).inheritIO().start()
        expect(run.waitFor() == 0, "admin ${args.toList()}")
    }

    check("a community's visit plan reaches the phone: today lists who is due, a visit answers its checklist") {
        // Begun long ago, so that the households never visited are overdue today.
        admin(
            "add-plan", "--as", System.getenv("DOORSTEP_TEST_SUP"), "--unit", "ktc", "--name", "常规走访",
            "--default-days", "30", "--tag", "独居老人=7", "--question", "身体怎么样？", "--question", "水电气安全吗？",
            "--starts", "2020-01-01", "--goal", "90",
        )
        p2.sync()
        val plans = p2.plans()
        expect(plans.size == 1 && plans[0].questions.size == 2 && plans[0].goalPct == 90u, "plans $plans")
        val due = p2.visitsDue("KT", 0u, null)
        expect(due.isNotEmpty() && due.all { it.overdue && it.days == 30u }, "due $due")
        val today = p2.today("KT", null, 30u, 20u)
        expect(today.dueVisits.map { it.householdId } == due.take(20).map { it.householdId }, "today lists them first")
        val h = due.first().householdId
        val form = VisitFormScreen(p2, h)
        val v = form.view()
        expect(v.plan?.days == 30u && v.checklist.size == 2, "the visit screen asks the plan: $v")
        form.setAnswered(v.checklist[0].id, true)
        expect(form.save() != null, "saved: ${form.view().problem}")
        expect(p2.visitsDue("KT", 0u, null).none { it.householdId == h }, "visited: no longer due")
        val recorded = p2.household(h).visits.first { it.checklist != null }.checklist!!
        expect(recorded.planId == plans[0].id && recorded.answers.count { it.answered } == 1, "answers $recorded")
        expect(p2.sync().failed.isEmpty(), "the answers reach the server")
        // Withdrawn, so that the checks after this one see no plan in force.
        admin("set-plan", "--as", System.getenv("DOORSTEP_TEST_SUP"), "--plan", plans[0].id, "--retire")
        p2.sync()
        expect(p2.visitsDue("KT", 0u, null).isEmpty(), "a withdrawn plan makes nobody due")
    }

    check("a photo taken on the visit screen goes up after the visit; a phone of another grid is refused it, a supervisor's opens it") {
        // A picture as a gallery may hand it over (a PNG screenshot), drawn here.
        val img = java.awt.image.BufferedImage(1200, 900, java.awt.image.BufferedImage.TYPE_INT_RGB)
        for (x in 0 until 1200) for (y in 0 until 900) img.setRGB(x, y, ((x * 7) shl 8) xor (y * 13) and 0xffffff)
        val encoded = { format: String -> java.io.ByteArrayOutputStream().also { javax.imageio.ImageIO.write(img, format, it) }.toByteArray() }
        val h = p2.households(HouseholdQuery(grid = "KT"), null).first()
        val form = VisitFormScreen(p2, h.id)
        expect(!form.addPhoto("not a picture".toByteArray()) && form.view().problem != null, "junk refused")
        // The core takes JPEG only: the shells turn other formats into JPEG with the platform's
        // decoders (here the JVM's, as Android's ImageDecoder and iOS's UIImage do).
        expect(!form.addPhoto(encoded("png")) && form.view().problem?.detail?.contains("JPEG") == true, "PNG refused, saying JPEG: ${form.view().problem}")
        expect(form.addPhoto(encoded("jpg")), "taken: ${form.view().problem}")
        val photo = form.view().photos.single()
        expect(photo.bytes <= 300u * 1024u && p2.photoBytes(photo.thumb) != null, "made small, with its thumbnail: $photo")
        expect(form.save() != null, "saved: ${form.view().problem}")
        val r = p2.sync()
        expect(r.failed.isEmpty() && r.photos.sent == 2u, "sent after the visit: ${r.photos}")
        expect(p2.household(h.id).visits.any { v -> v.photos.any { it.hash == photo.hash } }, "the visit names it")
        // p1 works in grid KS now: the photo is not its to see.
        expect(p1.sync().photos.fetched == 0u && p1.photoBytes(photo.thumb) == null, "no thumbnail of another grid")
        expect(runCatching { p1.fetchPhoto(photo.hash) }.isFailure, "refused by the server")
        // The community's supervisor opens it from a phone of theirs.
        val run = ProcessBuilder(
            System.getenv("DOORSTEP_TEST_ADMIN"), "admin", "--json", "--data", System.getenv("DOORSTEP_TEST_DATA"),
            "enroll", "--person", System.getenv("DOORSTEP_TEST_SUP"),
        ).redirectErrorStream(false).start()
        val out = run.inputStream.bufferedReader().readText()
        expect(run.waitFor() == 0, "enrolled: $out")
        val code = Regex("\"code\":\\s*\"([^\"]+)\"").find(out)!!.groupValues[1]
        val sup = phone()
        sup.enroll(server, code)
        sup.sync()
        expect(sup.fetchPhoto(photo.hash).size.toUInt() == photo.bytes, "the photo when opened")
    }

    check("a household moved to another grid while the phone is offline: its visit is delivered, the household leaves the phone") {
        val h = p2.households(HouseholdQuery(grid = "KT"), null).last()
        p2.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "搬迁前的走访", emptyList()), null, null)
        admin("move-household", "--household", h.id, "--grid", "KM")
        val r = p2.sync()
        expect(r.failed.isEmpty() && r.pushedDocs == 1u, "the visit was accepted: $r")
        expect(r.droppedDocs >= 1u, "the household was dropped: $r")
        expect(p2.households(HouseholdQuery(grid = "KT"), null).none { it.id == h.id }, "gone from the list")
        expect(runCatching { p2.household(h.id) }.isFailure, "nothing of it stays on the phone")
        expect(p2.unsyncedDocs() == 0UL && p2.refusedDocs().isEmpty(), "nothing waits, nothing refused")
    }

    check("a phone handed over delivers its unsynced visit, says it is about to be erased, then is") {
        val h = p2.households(HouseholdQuery(grid = "KT"), null).first()
        p2.recordVisit(h.id, NewVisit(null, VisitKind.ROUTINE, "移交前的走访", emptyList()), null, null)
        expect(p2.unsyncedDocs() == 1UL, "one document waits")
        admin("hand-over", "--device", p2.enrollment()!!.deviceId)
        val bar = SyncBarScreen(p2)
        expect(bar.syncNow(), "synced: ${bar.view().problem}")
        val v = bar.view()
        expect(v.handover && v.unsynced == 0UL && !v.wiped && v.ended == null, "about to be erased: $v")
        expect(p2.households(HouseholdQuery(grid = "KT"), null).isNotEmpty(), "nothing erased before the person finishes")
        expect(bar.finishHandover(), "finished: ${bar.view().problem}")
        val after = bar.view()
        expect(after.wiped && after.ended?.how == "handed_over" && !after.handover, "erased: $after")
        expect(p2.enrollment() == null && p2.households(HouseholdQuery(grid = "KT"), null).isEmpty(), "nothing left")
    }

    check("a phone reported lost is erased at its next contact and says why") {
        admin("revoke", "--device", p1.enrollment()!!.deviceId)
        val bar = SyncBarScreen(p1)
        expect(!bar.syncNow(), "refused")
        val v = bar.view()
        expect(v.wiped && v.ended?.how == "revoked" && v.problem?.kind == ProblemKind.REVOKED, "erased: $v")
        expect(p1.enrollment() == null, "not enrolled any more")
    }
    p1.close()
    p2.close()
}
