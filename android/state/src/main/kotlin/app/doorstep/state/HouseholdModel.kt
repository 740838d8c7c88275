package app.doorstep.state

import app.doorstep.core.Conflict
import app.doorstep.core.Household
import app.doorstep.core.HouseholdDetailListener
import app.doorstep.core.HouseholdDetailScreen
import app.doorstep.core.HouseholdDetailView
import app.doorstep.core.HouseholdItems
import app.doorstep.core.Visit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** One household, as the core's shared screen decides it (screens/src/household.rs). */
data class HouseholdState(
    val household: Household? = null,
    val visits: List<Visit> = emptyList(),
    val items: HouseholdItems? = null,
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: HouseholdDetailView) = HouseholdState(v.household, v.visits, v.items, v.problem?.let(Problem::of))
    }
}

class HouseholdModel(private val core: Core, val householdId: String) {
    private val screen = HouseholdDetailScreen(core.store, householdId)
    private val _state = MutableStateFlow(HouseholdState.of(screen.view()))
    val state: StateFlow<HouseholdState> = _state

    init {
        screen.setListener(object : HouseholdDetailListener {
            override fun changed(view: HouseholdDetailView) { _state.value = HouseholdState.of(view) }
        })
    }

    suspend fun refresh() = withContext(core.io) { screen.refresh() }

    /** Keeps the value at [choice] of a conflicting field; the choice syncs like any change. */
    suspend fun settle(conflict: Conflict, choice: Int): Boolean =
        withContext(core.io) { screen.settle(conflict.docId, conflict.path, choice.toUInt()) }
}
