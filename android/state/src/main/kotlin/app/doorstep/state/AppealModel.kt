package app.doorstep.state

import app.doorstep.core.Appeal
import app.doorstep.core.AppealAction
import app.doorstep.core.AppealEventKind
import app.doorstep.core.allowedAppealActions
import app.doorstep.core.deadlineWords
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/** One appeal: its record, its countdown, and the actions its status allows (from the core). */
data class AppealState(
    val appeal: Appeal? = null,
    val countdown: String = "",
    val actions: List<AppealEventKind> = emptyList(),
    val problem: Problem? = null,
)

class AppealModel(private val core: Core, val appealId: String) {
    private val _state = MutableStateFlow(AppealState())
    val state: StateFlow<AppealState> = _state

    suspend fun refresh() = show(core.call { it.appeal(appealId, core.clock()) })

    /** Takes an action; the core refuses one the status does not allow (nothing written). */
    suspend fun act(action: AppealAction): Boolean {
        val r = core.call { it.actOnAppeal(appealId, action, core.clock()) }
        show(r)
        return r is Outcome.Ok
    }

    private fun show(r: Outcome<Appeal>) = when (r) {
        is Outcome.Ok -> _state.update {
            AppealState(
                appeal = r.value,
                countdown = deadlineWords(r.value.deadline, core.lang),
                actions = allowedAppealActions(r.value.status),
            )
        }
        is Outcome.Failed -> _state.update { it.copy(problem = r.problem) }
    }
}
