package app.doorstep.state

import app.doorstep.core.Conflict
import app.doorstep.core.Household
import app.doorstep.core.HouseholdItems
import app.doorstep.core.Visit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/** One household: residents, visits (newest first), open tasks and appeals, conflicts. */
data class HouseholdState(
    val household: Household? = null,
    val visits: List<Visit> = emptyList(),
    val items: HouseholdItems? = null,
    val problem: Problem? = null,
)

class HouseholdModel(private val core: Core, val householdId: String) {
    private val _state = MutableStateFlow(HouseholdState())
    val state: StateFlow<HouseholdState> = _state

    suspend fun refresh() {
        val r = core.call { s -> s.household(householdId) to s.householdItems(householdId, core.clock()) }
        when (r) {
            is Outcome.Ok -> _state.update {
                val (h, items) = r.value
                HouseholdState(household = h, visits = h.visits.sortedByDescending { v -> v.at }, items = items)
            }
            is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
        }
    }

    /**
     * Settles a conflict (two phones changed the same field offline) by keeping the option at
     * [choice]; the choice is itself a change that syncs.
     */
    suspend fun settle(conflict: Conflict, choice: Int): Boolean {
        val r = core.call { it.settleConflict(conflict.docId, conflict.path, choice.toUInt()) }
        r.problemOrNull()?.let { p -> _state.update { it.copy(problem = p) }; return false }
        refresh()
        return true
    }
}
