package app.doorstep.state

import app.doorstep.core.AttentionTag
import app.doorstep.core.HouseholdQuery
import app.doorstep.core.HouseholdRow
import app.doorstep.core.HouseholdSort
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/** My grid's households: search, a tag filter, "not visited lately", a sort, paged. */
data class HouseholdsState(
    val grid: String,
    /** Every grid this person works in (a picker shows when there is more than one). */
    val grids: List<String>,
    val search: String = "",
    val tag: AttentionTag? = null,
    /** Only households not visited for 30 days (or never). */
    val notVisitedLately: Boolean = false,
    val sort: HouseholdSort = HouseholdSort.ADDRESS,
    val rows: List<HouseholdRow> = emptyList(),
    /** More rows may follow: the list asks for them when it scrolls to the end. */
    val more: Boolean = false,
    val loading: Boolean = false,
    val problem: Problem? = null,
)

class HouseholdsModel(
    private val core: Core,
    grids: List<String>,
    private val pageSize: Int = 50,
) {
    private val _state = MutableStateFlow(HouseholdsState(grid = grids.firstOrNull() ?: "", grids = grids))
    val state: StateFlow<HouseholdsState> = _state

    /** The tags a filter chip is shown for, in the core's order. */
    val tags: List<AttentionTag> = AttentionTag.entries

    suspend fun setGrid(grid: String) { _state.update { it.copy(grid = grid) }; refresh() }
    suspend fun setSearch(text: String) { _state.update { it.copy(search = text) }; refresh() }
    suspend fun setTag(tag: AttentionTag?) { _state.update { it.copy(tag = tag) }; refresh() }
    suspend fun setNotVisitedLately(on: Boolean) { _state.update { it.copy(notVisitedLately = on) }; refresh() }
    suspend fun setSort(sort: HouseholdSort) { _state.update { it.copy(sort = sort) }; refresh() }

    /** Loads the first page again (after a filter changed, a visit was saved, a sync pulled). */
    suspend fun refresh() = load(offset = 0)

    /** Appends the next page. */
    suspend fun loadMore() {
        val s = _state.value
        if (s.more && !s.loading) load(offset = s.rows.size)
    }

    private suspend fun load(offset: Int) {
        _state.update { it.copy(loading = true) }
        val s = _state.value
        if (s.grid.isEmpty()) {
            _state.update { it.copy(loading = false, rows = emptyList(), more = false) }
            return
        }
        val q = HouseholdQuery(
            grid = s.grid,
            tag = s.tag,
            search = s.search.trim().ifEmpty { null },
            notVisitedInDays = if (s.notVisitedLately) 30u else null,
            sort = s.sort,
            // One more than a page tells whether another page follows.
            limit = (pageSize + 1).toUInt(),
            offset = offset.toUInt(),
        )
        when (val r = core.call { it.households(q, core.clock()) }) {
            is Outcome.Ok -> _state.update {
                // A filter changed while this page loaded: the newer load's answer wins.
                if (it.grid != s.grid || it.search != s.search || it.tag != s.tag ||
                    it.notVisitedLately != s.notVisitedLately || it.sort != s.sort
                ) return@update it
                val page = r.value.take(pageSize)
                it.copy(
                    rows = if (offset == 0) page else it.rows + page,
                    more = r.value.size > pageSize,
                    loading = false,
                    problem = null,
                )
            }
            is Outcome.Failed -> _state.update { it.copy(loading = false, problem = r.problem) }
        }
    }
}
