package app.doorstep.state

import app.doorstep.core.TaskAction
import app.doorstep.core.TaskRow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/**
 * The liaison lead's help-a-hand list (搭把手): open tasks of their groups, the ones they hold,
 * the ones done this week, and the claims they lost to someone faster while offline. Claim is one
 * tap on an open task, done is one tap on a held one.
 */
data class HelpListState(
    val open: List<TaskRow> = emptyList(),
    val mine: List<TaskRow> = emptyList(),
    val doneRecently: List<TaskRow> = emptyList(),
    /** Tasks this lead claimed offline while another lead's claim won: say so, kindly. */
    val lost: List<TaskRow> = emptyList(),
    val problem: Problem? = null,
)

class HelpListModel(
    private val core: Core,
    private val groups: List<String>,
    private val me: String,
) {
    private val _state = MutableStateFlow(HelpListState())
    val state: StateFlow<HelpListState> = _state

    suspend fun refresh() {
        val r = core.call { s -> groups.map { g -> s.leadTasks(g, me, core.clock()) } }
        when (r) {
            is Outcome.Ok -> _state.update {
                val lists = r.value
                // A task belongs to one group, but "mine" and "lost" are per person: one copy each.
                HelpListState(
                    open = lists.flatMap { l -> l.open },
                    mine = lists.flatMap { l -> l.mine }.distinctBy { t -> t.id },
                    doneRecently = lists.flatMap { l -> l.doneRecently }.sortedByDescending { t -> t.doneAt },
                    lost = lists.flatMap { l -> l.lost }.distinctBy { t -> t.id },
                )
            }
            is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
        }
    }

    suspend fun claim(taskId: String) = act(taskId, TaskAction.Claim)
    suspend fun done(taskId: String, note: String = "") = act(taskId, TaskAction.Done(note))
    suspend fun release(taskId: String) = act(taskId, TaskAction.Release)

    private suspend fun act(taskId: String, action: TaskAction): Boolean {
        val r = core.call { it.actOnTask(taskId, action) }
        refresh()
        r.problemOrNull()?.let { p -> _state.update { it.copy(problem = p) }; return false }
        return true
    }
}
