package app.doorstep.state

import app.doorstep.core.Lang
import app.doorstep.core.SyncBarListener
import app.doorstep.core.SyncBarScreen
import app.doorstep.core.SyncBarView
import app.doorstep.core.SyncReport
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/**
 * The sync bar, as the core's shared screen (`SyncBarScreen`, screens/src/sync_bar.rs) decides
 * it: this file only turns its views into a [StateFlow] and calls it off the UI thread.
 */
data class SyncBarState(
    val unsynced: Long = 0,
    val lastSuccessAt: Long? = null,
    val lastAttemptAt: Long? = null,
    val problem: Problem? = null,
    val running: Boolean = false,
    val lastReport: SyncReport? = null,
    val wiped: Boolean = false,
    val clockWrong: Boolean = false,
    val refused: List<Refused> = emptyList(),
) {
    companion object {
        fun of(v: SyncBarView, lang: Lang) = SyncBarState(
            unsynced = v.unsynced.toLong(),
            lastSuccessAt = v.lastSuccessAt,
            lastAttemptAt = v.lastAttemptAt,
            problem = v.problem?.let(Problem::of),
            running = v.running,
            lastReport = v.lastReport,
            wiped = v.wiped,
            clockWrong = v.clockWrong,
            refused = v.refused.map { r ->
                Refused(r.docId, r.kind, if (lang == Lang.EN) r.reasonEn else r.reasonZh, r.actions)
            },
        )
    }
}

/** A refused document as the bar shows it: why, in the person's language, and what. */
data class Refused(val docId: String, val kind: String, val reason: String, val actions: List<String>)

/** The app's one sync bar screen: the button and the background worker share it (one sync at a time). */
class Syncer(private val core: Core) {
    val screen = SyncBarScreen(core.store)

    /** Syncs now; waits for a sync already running, then runs its own (it may find more). */
    suspend fun sync(): Outcome<SyncReport> = withContext(core.io) {
        val ok = screen.sync()
        val v = screen.view()
        val report = v.lastReport
        if (ok && report != null) Outcome.Ok(report)
        else Outcome.Failed(v.problem?.let(Problem::of) ?: Problem(Problem.Kind.INTERNAL))
    }
}

class SyncModel(private val core: Core, private val syncer: Syncer) {
    private val _state = MutableStateFlow(SyncBarState.of(syncer.screen.view(), core.lang))
    val state: StateFlow<SyncBarState> = _state

    init {
        // Told from whichever thread changed the view (a sync's); a StateFlow takes it from any.
        syncer.screen.setListener(object : SyncBarListener {
            override fun changed(view: SyncBarView) {
                _state.value = SyncBarState.of(view, core.lang)
            }
        })
    }

    suspend fun refresh() = withContext(core.io) { syncer.screen.refresh() }

    /** The sync button: returns true when the sync worked. */
    suspend fun syncNow(): Boolean = withContext(core.io) { syncer.screen.syncNow() }

    /** The person chose to let a refused document's changes go. */
    suspend fun dropRefused(docId: String): Boolean = withContext(core.io) { syncer.screen.dropRefused(docId) }
}
