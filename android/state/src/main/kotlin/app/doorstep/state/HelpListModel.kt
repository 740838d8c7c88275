package app.doorstep.state

import app.doorstep.core.HelpTasksListener
import app.doorstep.core.HelpTasksScreen
import app.doorstep.core.HelpTasksView
import app.doorstep.core.TaskRow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** The liaison lead's help-a-hand list, as the core's shared screen decides it (screens/src/help_list.rs). */
data class HelpListState(
    val open: List<TaskRow> = emptyList(),
    val mine: List<TaskRow> = emptyList(),
    val doneRecently: List<TaskRow> = emptyList(),
    /** Tasks this lead claimed offline while another lead's claim won: say so, kindly. */
    val lost: List<TaskRow> = emptyList(),
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: HelpTasksView) = HelpListState(v.open, v.mine, v.doneRecently, v.lost, v.problem?.let(Problem::of))
    }
}

class HelpListModel(private val core: Core, groups: List<String>, me: String) {
    private val screen = HelpTasksScreen(core.store, groups, me)
    private val _state = MutableStateFlow(HelpListState.of(screen.view()))
    val state: StateFlow<HelpListState> = _state

    init {
        screen.setListener(object : HelpTasksListener {
            override fun changed(view: HelpTasksView) { _state.value = HelpListState.of(view) }
        })
    }

    suspend fun refresh() = withContext(core.io) { screen.refresh() }
    suspend fun claim(taskId: String) = withContext(core.io) { screen.claim(taskId) }
    suspend fun done(taskId: String, note: String = "") = withContext(core.io) { screen.done(taskId, note) }
    suspend fun release(taskId: String) = withContext(core.io) { screen.release(taskId) }
}
