package app.doorstep.state

import app.doorstep.core.GridSummary
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/**
 * A supervisor's read-only summary on the phone: per grid and in total, households visited in 30
 * days, never visited, households needing attention, open help tasks, open and overdue appeals.
 * The figures come from the same query as the dashboard's, over what this phone has pulled.
 */
data class SummaryState(
    val grids: List<GridSummary> = emptyList(),
    val total: GridSummary? = null,
    val problem: Problem? = null,
)

class SummaryModel(private val core: Core, private val grids: List<String>) {
    private val _state = MutableStateFlow(SummaryState())
    val state: StateFlow<SummaryState> = _state

    suspend fun refresh() {
        when (val r = core.call { it.gridSummaries(grids, core.clock()) }) {
            is Outcome.Ok -> _state.update { SummaryState(grids = r.value, total = total(r.value)) }
            is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
        }
    }

    private fun total(rows: List<GridSummary>) = GridSummary(
        grid = "",
        households = rows.sumOf { it.households },
        visited30Days = rows.sumOf { it.visited30Days },
        visited90Days = rows.sumOf { it.visited90Days },
        neverVisited = rows.sumOf { it.neverVisited },
        attention = rows.sumOf { it.attention },
        openTasks = rows.sumOf { it.openTasks },
        openAppeals = rows.sumOf { it.openAppeals },
        overdueAppeals = rows.sumOf { it.overdueAppeals },
    )

    /** Percent of households visited in 30 days (0 when there are none). */
    fun coveragePercent(s: GridSummary): Int =
        if (s.households == 0u) 0 else ((s.visited30Days.toLong() * 100 + s.households.toLong() / 2) / s.households.toLong()).toInt()
}
