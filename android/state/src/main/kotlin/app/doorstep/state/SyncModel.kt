package app.doorstep.state

import app.doorstep.core.Lang
import app.doorstep.core.RefusedDoc
import app.doorstep.core.SyncReport
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The sync bar: changes waiting, when the last sync worked, and the last failure in words. The
 * figures live in the store (the core records every attempt), so a background sync and the
 * screen agree and a restart forgets nothing.
 */
data class SyncBarState(
    val unsynced: Long = 0,
    val lastSuccessAt: Long? = null,
    val lastAttemptAt: Long? = null,
    /** The last attempt's failure; null once a sync works again. */
    val problem: Problem? = null,
    val running: Boolean = false,
    /** What the last sync run from this screen did (pushed, pulled, conflicts, refused). */
    val lastReport: SyncReport? = null,
    /**
     * The server said this phone was revoked and the core erased the store: the app goes back
     * to the enrollment screen.
     */
    val wiped: Boolean = false,
    /** The phone's clock is off by more than five minutes from the server's: ask to set it. */
    val clockWrong: Boolean = false,
    /** Documents the server refused, each with why and the person's actions it did not take. */
    val refused: List<Refused> = emptyList(),
)

/** A refused document as the sync bar shows it: why, in the person's language, and what. */
data class Refused(val docId: String, val kind: String, val reason: String, val actions: List<String>) {
    companion object {
        fun of(r: RefusedDoc, lang: Lang) = Refused(
            docId = r.refusal.docId,
            kind = r.kind,
            reason = if (lang == Lang.EN) r.refusal.reasonEn else r.refusal.reasonZh,
            actions = r.actions.map { it.what },
        )
    }
}

/** One sync at a time per store, whoever asks (the screen, the background worker). */
class Syncer(private val core: Core) {
    private val lock = Mutex()

    /** Syncs now; waits for a sync already running, then runs its own (it may find more). */
    suspend fun sync(): Outcome<SyncReport> = lock.withLock { core.call { it.sync() } }

    /** Syncs unless one is running already (its outcome will show): for a button. */
    suspend fun syncIfIdle(): Outcome<SyncReport>? =
        if (lock.tryLock()) {
            try { core.call { it.sync() } } finally { lock.unlock() }
        } else null
}

class SyncModel(private val core: Core, private val syncer: Syncer) {
    private val _state = MutableStateFlow(SyncBarState())
    val state: StateFlow<SyncBarState> = _state

    /** Reads the figures again (after any write: the waiting count changes). */
    suspend fun refresh() {
        when (val r = core.call { it.syncStatus() }) {
            is Outcome.Ok -> _state.update {
                val st = r.value
                it.copy(
                    unsynced = st.unsyncedDocs.toLong(),
                    lastSuccessAt = st.lastSuccessAt,
                    lastAttemptAt = st.lastAttemptAt,
                    problem = st.lastError?.let { e -> Problem.fromSyncCode(e.code, e.detail) },
                    clockWrong = st.clockWrong,
                )
            }
            is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
        }
        core.call { it.refusedDocs() }.valueOrNull()?.let { list ->
            _state.update { it.copy(refused = list.map { r -> Refused.of(r, core.lang) }) }
        }
    }

    /**
     * The person chose to let a refused document's changes go: the document becomes the
     * server's copy again (or goes, if the server never had it). Returns false on a failure,
     * which the bar then shows.
     */
    suspend fun dropRefused(docId: String): Boolean {
        val r = core.call { it.dropRefused(docId) }
        if (r is Outcome.Failed) _state.update { it.copy(problem = r.problem) }
        refresh()
        return r is Outcome.Ok
    }

    /** The sync button: returns true when the sync worked. */
    suspend fun syncNow(): Boolean {
        _state.update { it.copy(running = true) }
        val r = syncer.syncIfIdle()
        val revoked = r?.problemOrNull()?.kind == Problem.Kind.REVOKED &&
            core.call { it.enrollment() }.valueOrNull() == null
        _state.update {
            it.copy(running = false, lastReport = r?.valueOrNull() ?: it.lastReport, wiped = revoked)
        }
        refresh()
        return r is Outcome.Ok
    }
}
