package app.doorstep.state

import app.doorstep.core.Tier
import app.doorstep.core.VisitFormListener
import app.doorstep.core.VisitFormScreen
import app.doorstep.core.VisitFormView
import app.doorstep.core.VisitKind
import app.doorstep.core.VisitOutcome
import app.doorstep.core.knownTopics
import app.doorstep.core.quickNeeds
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** Recording a visit in a few taps, as the core's shared screen decides it (screens/src/visit.rs). */
data class VisitState(
    val kind: VisitKind = VisitKind.ROUTINE,
    val notes: String = "",
    val needs: List<String> = emptyList(),
    val openTask: Boolean = false,
    val taskNeed: String = "",
    val taskDueDays: Int? = null,
    val openAppeal: Boolean = false,
    val appealTopic: String = "other",
    val appealTier: Tier = Tier.GENERAL,
    val appealSummary: String = "",
    val saving: Boolean = false,
    val problem: Problem? = null,
    val saved: VisitOutcome? = null,
) {
    companion object {
        fun of(v: VisitFormView) = VisitState(
            v.kind, v.notes, v.needs, v.openTask, v.taskNeed, v.taskDueDays?.toInt(), v.openAppeal,
            v.appealTopic, v.appealTier, v.appealSummary, v.saving, v.problem?.let(Problem::of), v.saved,
        )
    }
}

class VisitModel(private val core: Core, val householdId: String) {
    private val screen = VisitFormScreen(core.store, householdId)
    private val _state = MutableStateFlow(VisitState.of(screen.view()))
    val state: StateFlow<VisitState> = _state

    /** The needs a chip is shown for (a grid worker can type any other). */
    val quickNeeds: List<String> = quickNeeds()

    /** Appeal topics for the picker (the core's codes; labels through `topicLabel`). */
    val topics: List<String> = knownTopics()

    init {
        screen.setListener(object : VisitFormListener {
            override fun changed(view: VisitFormView) { _state.value = VisitState.of(view) }
        })
    }

    fun setKind(kind: VisitKind) = screen.setKind(kind)
    fun setNotes(notes: String) = screen.setNotes(notes)
    fun toggleNeed(need: String) = screen.toggleNeed(need)
    fun setOpenTask(on: Boolean) = screen.setOpenTask(on)
    fun setTaskNeed(text: String) = screen.setTaskNeed(text)
    fun setTaskDueDays(days: Int?) = screen.setTaskDueDays(days?.toUInt())
    fun setOpenAppeal(on: Boolean) = screen.setOpenAppeal(on)
    fun setAppealTopic(code: String) = screen.setAppealTopic(code)
    fun setAppealTier(tier: Tier) = screen.setAppealTier(tier)
    fun setAppealSummary(text: String) = screen.setAppealSummary(text)

    /** Saves; returns what was opened, or null with [VisitState.problem] set (nothing written). */
    suspend fun save(): VisitOutcome? = withContext(core.io) { screen.save() }
}
