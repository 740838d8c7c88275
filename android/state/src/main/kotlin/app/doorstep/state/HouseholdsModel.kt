package app.doorstep.state

import app.doorstep.core.AttentionTag
import app.doorstep.core.HouseholdRow
import app.doorstep.core.HouseholdSort
import app.doorstep.core.HouseholdListListener
import app.doorstep.core.HouseholdListScreen
import app.doorstep.core.HouseholdListView
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/**
 * My grid's households, as the core's shared screen (`HouseholdListScreen`,
 * screens/src/households.rs) decides them: search, a tag filter, "not visited lately", a sort,
 * paged. This file only turns its views into a [StateFlow].
 */
data class HouseholdsState(
    val grid: String,
    val grids: List<String>,
    val search: String = "",
    val tag: AttentionTag? = null,
    val notVisitedLately: Boolean = false,
    val sort: HouseholdSort = HouseholdSort.ADDRESS,
    val rows: List<HouseholdRow> = emptyList(),
    val more: Boolean = false,
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: HouseholdListView) = HouseholdsState(
            grid = v.grid, grids = v.grids, search = v.search, tag = v.tag,
            notVisitedLately = v.notVisitedLately, sort = v.sort, rows = v.rows, more = v.more,
            problem = v.problem?.let(Problem::of),
        )
    }
}

class HouseholdsModel(private val core: Core, grids: List<String>, pageSize: Int = 50) {
    private val screen = HouseholdListScreen(core.store, grids, pageSize.toUInt())
    private val _state = MutableStateFlow(HouseholdsState.of(screen.view()))
    val state: StateFlow<HouseholdsState> = _state

    /** The tags a filter chip is shown for, in the core's order. */
    val tags: List<AttentionTag> = AttentionTag.entries

    init {
        screen.setListener(object : HouseholdListListener {
            override fun changed(view: HouseholdListView) {
                _state.value = HouseholdsState.of(view)
            }
        })
    }

    private suspend fun call(block: () -> Unit) = withContext(core.io) { block() }

    suspend fun setGrid(grid: String) = call { screen.setGrid(grid) }
    suspend fun setSearch(text: String) = call { screen.setSearch(text) }
    suspend fun setTag(tag: AttentionTag?) = call { screen.setTag(tag) }
    suspend fun setNotVisitedLately(on: Boolean) = call { screen.setNotVisitedLately(on) }
    suspend fun setSort(sort: HouseholdSort) = call { screen.setSort(sort) }
    suspend fun refresh() = call { screen.refresh() }
    suspend fun loadMore() = call { screen.loadMore() }
}
