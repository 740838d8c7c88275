package app.doorstep.state

import app.doorstep.core.Appeal
import app.doorstep.core.AppealAction
import app.doorstep.core.AppealDetailListener
import app.doorstep.core.AppealDetailScreen
import app.doorstep.core.AppealDetailView
import app.doorstep.core.AppealEventKind
import app.doorstep.core.Lang
import app.doorstep.core.deadlineWords
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** One appeal, as the core's shared screen decides it (screens/src/appeal.rs). */
data class AppealState(
    val appeal: Appeal? = null,
    val countdown: String = "",
    val actions: List<AppealEventKind> = emptyList(),
    val problem: Problem? = null,
) {
    companion object {
        fun of(v: AppealDetailView, lang: Lang) = AppealState(
            v.appeal, v.appeal?.let { deadlineWords(it.deadline, lang) } ?: "", v.actions, v.problem?.let(Problem::of),
        )
    }
}

class AppealModel(private val core: Core, val appealId: String) {
    private val screen = AppealDetailScreen(core.store, appealId)
    private val _state = MutableStateFlow(AppealState.of(screen.view(), core.lang))
    val state: StateFlow<AppealState> = _state

    init {
        screen.setListener(object : AppealDetailListener {
            override fun changed(view: AppealDetailView) { _state.value = AppealState.of(view, core.lang) }
        })
    }

    suspend fun refresh() = withContext(core.io) { screen.refresh() }

    /** Takes an action; the core refuses one the status or role does not allow (nothing written). */
    suspend fun act(action: AppealAction): Boolean = withContext(core.io) { screen.act(action) }
}
