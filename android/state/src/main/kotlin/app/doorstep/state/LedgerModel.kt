package app.doorstep.state

import app.doorstep.core.AppealQuery
import app.doorstep.core.AppealRow
import app.doorstep.core.Deadline
import app.doorstep.core.Tier
import app.doorstep.core.deadlineWords
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/** A ledger line: the appeal and its countdown in words (`剩余23分钟`, `超时2小时5分钟`). */
data class LedgerLine(val row: AppealRow, val countdown: String) {
    val overdue: Boolean get() = row.deadline is Deadline.Overdue
    val dueSoon: Boolean get() = row.deadline is Deadline.DueSoon
}

/**
 * The appeal ledger (诉求台账): open appeals, overdue first with how far over, then by time left
 * against each tier's window (30 minutes, 24 hours, 7 days, 15 days). [tick] recounts the
 * countdowns; the screen calls it every minute while shown.
 */
data class LedgerState(
    val grid: String?,
    val overdueOnly: Boolean = false,
    val tier: Tier? = null,
    val includeFinished: Boolean = false,
    val lines: List<LedgerLine> = emptyList(),
    val at: Long = 0,
    val problem: Problem? = null,
)

class LedgerModel(private val core: Core, grid: String?) {
    private val _state = MutableStateFlow(LedgerState(grid = grid))
    val state: StateFlow<LedgerState> = _state

    suspend fun setOverdueOnly(on: Boolean) { _state.update { it.copy(overdueOnly = on) }; refresh() }
    suspend fun setTier(tier: Tier?) { _state.update { it.copy(tier = tier) }; refresh() }
    suspend fun setIncludeFinished(on: Boolean) { _state.update { it.copy(includeFinished = on) }; refresh() }

    suspend fun tick() = refresh()

    suspend fun refresh() {
        val s = _state.value
        val now = core.clock()
        val q = AppealQuery(
            grid = s.grid,
            openOnly = !s.includeFinished,
            tier = s.tier,
            overdueOnly = s.overdueOnly,
        )
        when (val r = core.call { it.appealLedger(q, now) }) {
            is Outcome.Ok -> _state.update {
                it.copy(
                    lines = r.value.map { row -> LedgerLine(row, deadlineWords(row.deadline, core.lang)) },
                    at = now,
                    problem = null,
                )
            }
            is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
        }
    }
}
