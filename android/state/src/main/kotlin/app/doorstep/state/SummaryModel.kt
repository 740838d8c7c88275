package app.doorstep.state

import app.doorstep.core.GridSummary
import app.doorstep.core.GridSummaryListener
import app.doorstep.core.GridSummaryScreen
import app.doorstep.core.GridSummaryView
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** A supervisor's summary, as the core's shared screen decides it (screens/src/summary.rs). */
data class SummaryState(
    val grids: List<GridSummary> = emptyList(),
    val total: GridSummary? = null,
    /** Percent visited in 30 days: per grid in [grids]' order, then the total. */
    val percents: List<UInt> = emptyList(),
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: GridSummaryView) = SummaryState(v.grids, v.total, v.coveragePercent, v.problem?.let(Problem::of))
    }
}

class SummaryModel(private val core: Core, grids: List<String>) {
    private val screen = GridSummaryScreen(core.store, grids)
    private val _state = MutableStateFlow(SummaryState.of(screen.view()))
    val state: StateFlow<SummaryState> = _state

    init {
        screen.setListener(object : GridSummaryListener {
            override fun changed(view: GridSummaryView) { _state.value = SummaryState.of(view) }
        })
    }

    suspend fun refresh() = withContext(core.io) { screen.refresh() }

    /** The core's percent of households visited in 30 days, for a grid shown or the total. */
    fun coveragePercent(s: GridSummary): Int {
        val st = _state.value
        val i = st.grids.indexOf(s)
        return (if (i >= 0) st.percents.getOrNull(i) else st.percents.lastOrNull())?.toInt() ?: 0
    }
}
