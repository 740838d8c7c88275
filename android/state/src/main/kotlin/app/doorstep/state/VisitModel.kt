package app.doorstep.state

import app.doorstep.core.NewVisit
import app.doorstep.core.Tier
import app.doorstep.core.VisitAppeal
import app.doorstep.core.VisitKind
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitTask
import app.doorstep.core.knownTopics
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/**
 * Recording a visit in a few taps: the kind is preset to a routine visit, needs are chips, and a
 * need found opens a help task for the liaison leads at once (its text is the need); an appeal is
 * one switch, a topic and a sentence. Saving writes the visit, the task and the appeal in one
 * transaction, or nothing.
 */
data class VisitState(
    val kind: VisitKind = VisitKind.ROUTINE,
    val notes: String = "",
    val needs: List<String> = emptyList(),
    val openTask: Boolean = false,
    val taskNeed: String = "",
    /** Days until the task is due (null: no date). */
    val taskDueDays: Int? = null,
    val openAppeal: Boolean = false,
    val appealTopic: String = "other",
    val appealTier: Tier = Tier.GENERAL,
    val appealSummary: String = "",
    val saving: Boolean = false,
    val problem: Problem? = null,
    val saved: VisitOutcome? = null,
)

class VisitModel(private val core: Core, val householdId: String) {
    private val _state = MutableStateFlow(VisitState())
    val state: StateFlow<VisitState> = _state

    /** The needs a chip is shown for (a grid worker can type any other). */
    val quickNeeds = listOf("买药", "陪同就医", "送餐", "理发", "维修", "代缴费用", "聊天陪伴")

    /** Appeal topics for the picker (the core's codes; labels through `topicLabel`). */
    val topics: List<String> = knownTopics()

    fun setKind(kind: VisitKind) = _state.update { it.copy(kind = kind) }
    fun setNotes(notes: String) = _state.update { it.copy(notes = notes) }

    /**
     * Adds or removes a need. The first need found switches "open a help task" on with that
     * need as its text, which is what a grid worker wants nearly every time; they can switch it
     * off or edit it.
     */
    fun toggleNeed(need: String) = _state.update {
        val n = need.trim()
        if (n.isEmpty()) return@update it
        if (n in it.needs) {
            val needs = it.needs - n
            val task = if (it.taskNeed == n) needs.joinToString("、") else it.taskNeed
            it.copy(needs = needs, taskNeed = task, openTask = it.openTask && task.isNotEmpty())
        } else {
            val needs = it.needs + n
            it.copy(
                needs = needs,
                openTask = true,
                taskNeed = if (it.taskNeed.isEmpty() || it.openTask) needs.joinToString("、") else it.taskNeed,
                problem = null,
            )
        }
    }

    fun setOpenTask(on: Boolean) = _state.update { it.copy(openTask = on, problem = null) }
    fun setTaskNeed(text: String) = _state.update { it.copy(taskNeed = text, problem = null) }
    fun setTaskDueDays(days: Int?) = _state.update { it.copy(taskDueDays = days) }
    fun setOpenAppeal(on: Boolean) = _state.update { it.copy(openAppeal = on, problem = null) }
    fun setAppealTopic(code: String) = _state.update { it.copy(appealTopic = code) }
    fun setAppealTier(tier: Tier) = _state.update { it.copy(appealTier = tier) }
    fun setAppealSummary(text: String) = _state.update { it.copy(appealSummary = text, problem = null) }

    /** Saves; returns what was opened, or null with [VisitState.problem] set (nothing written). */
    suspend fun save(): VisitOutcome? {
        val s = _state.value
        if (s.saving || s.saved != null) return s.saved
        _state.update { it.copy(saving = true, problem = null) }
        val now = core.clock()
        val task = if (s.openTask) VisitTask(s.taskNeed.trim(), s.taskDueDays?.let { now + it * DAY_MS }) else null
        val appeal = if (s.openAppeal) VisitAppeal(s.appealTopic, s.appealTier, s.appealSummary.trim()) else null
        val visit = NewVisit(null, s.kind, s.notes.trim(), s.needs)
        return when (val r = core.call { it.recordVisit(householdId, visit, task, appeal) }) {
            is Outcome.Ok -> { _state.update { it.copy(saving = false, saved = r.value) }; r.value }
            is Outcome.Failed -> { _state.update { it.copy(saving = false, problem = r.problem) }; null }
        }
    }

    companion object {
        const val DAY_MS = 86_400_000L
    }
}
