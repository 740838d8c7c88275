package app.doorstep.state

import app.doorstep.core.AppealLedgerListener
import app.doorstep.core.AppealLedgerScreen
import app.doorstep.core.AppealLedgerView
import app.doorstep.core.AppealRow
import app.doorstep.core.Deadline
import app.doorstep.core.Lang
import app.doorstep.core.Tier
import app.doorstep.core.deadlineWords
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** A ledger line: the appeal and its countdown in the core's words (`剩余23分钟`, `超时2小时5分钟`). */
data class LedgerLine(val row: AppealRow, val countdown: String) {
    val overdue: Boolean get() = row.deadline is Deadline.Overdue
    val dueSoon: Boolean get() = row.deadline is Deadline.DueSoon
}

/** The appeal ledger, as the core's shared screen decides it (screens/src/ledger.rs). */
data class LedgerState(
    val grid: String?,
    val overdueOnly: Boolean = false,
    val tier: Tier? = null,
    val includeFinished: Boolean = false,
    val lines: List<LedgerLine> = emptyList(),
    val at: Long = 0,
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: AppealLedgerView, lang: Lang) = LedgerState(
            v.grid, v.overdueOnly, v.tier, v.includeFinished,
            v.lines.map { LedgerLine(it, deadlineWords(it.deadline, lang)) }, v.at, v.problem?.let(Problem::of),
        )
    }
}

class LedgerModel(private val core: Core, grid: String?) {
    private val screen = AppealLedgerScreen(core.store, grid)
    private val _state = MutableStateFlow(LedgerState.of(screen.view(), core.lang))
    val state: StateFlow<LedgerState> = _state

    init {
        screen.setListener(object : AppealLedgerListener {
            override fun changed(view: AppealLedgerView) { _state.value = LedgerState.of(view, core.lang) }
        })
    }

    suspend fun setOverdueOnly(on: Boolean) = withContext(core.io) { screen.setOverdueOnly(on) }
    suspend fun setTier(tier: Tier?) = withContext(core.io) { screen.setTier(tier) }
    suspend fun setIncludeFinished(on: Boolean) = withContext(core.io) { screen.setIncludeFinished(on) }

    /** Recounts the countdowns: the screen calls it every minute while shown. */
    suspend fun tick() = withContext(core.io) { screen.tick() }
    suspend fun refresh() = withContext(core.io) { screen.refresh() }
}
