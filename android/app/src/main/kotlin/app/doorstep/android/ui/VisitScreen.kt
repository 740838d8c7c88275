package app.doorstep.android.ui

import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.android.R
import app.doorstep.core.*
import app.doorstep.state.Observed
import app.doorstep.state.io
import kotlinx.coroutines.launch

/**
 * Record a visit in a few taps: the kind is preset, needs are chips (a need opens a help task
 * for the liaison leads at once), an appeal is one switch, a topic and a sentence.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun VisitScreen(m: Observed<VisitFormScreen, VisitFormView>, store: DoorstepStore, lang: Lang, onSaved: () -> Unit) {
    val s by m.state.collectAsState()
    val model = m.screen
    val scope = rememberCoroutineScope()
    LaunchedEffect(s.saved) { if (s.saved != null) onSaved() }
    Column(
        Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        ChipRow {
            VisitKind.entries.forEach { k ->
                FilterChip(selected = s.kind == k, onClick = { model.setKind(k) }, label = { Text(visitKindLabel(k, lang)) })
            }
        }
        // The visit plan's questions (十必问): ticked as they are asked and answered.
        s.plan?.let { p ->
            Text(stringResource(R.string.visit_plan, p.name, p.days.toInt()), style = MaterialTheme.typography.titleMedium)
            s.checklist.forEach { q ->
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Checkbox(checked = q.answered, onCheckedChange = { model.setAnswered(q.id, it) })
                    Text(q.text)
                }
            }
        }
        Text(stringResource(R.string.visit_needs), style = MaterialTheme.typography.titleMedium)
        ChipRow {
            quickNeeds().forEach { n ->
                FilterChip(selected = n in s.needs, onClick = { model.toggleNeed(n) }, label = { Text(n) })
            }
        }
        PhotoRow(store, s.photos, onAdd = { model.addPhoto(it) }, onRemove = { model.removePhoto(it) })
        OutlinedTextField(
            value = s.notes,
            onValueChange = model::setNotes,
            label = { Text(stringResource(R.string.visit_notes)) },
            modifier = Modifier.fillMaxWidth(),
        )
        SwitchLine(stringResource(R.string.visit_open_task), s.openTask, model::setOpenTask)
        if (s.openTask) {
            OutlinedTextField(
                value = s.taskNeed,
                onValueChange = model::setTaskNeed,
                label = { Text(stringResource(R.string.visit_task_need)) },
                modifier = Modifier.fillMaxWidth(),
            )
            ChipRow {
                listOf(null, 1, 3, 7).forEach { d ->
                    FilterChip(
                        selected = s.taskDueDays == d?.toUInt(),
                        onClick = { model.setTaskDueDays(d?.toUInt()) },
                        label = { Text(if (d == null) stringResource(R.string.visit_no_due) else stringResource(R.string.visit_due_days, d)) },
                    )
                }
            }
        }
        SwitchLine(stringResource(R.string.visit_open_appeal), s.openAppeal, model::setOpenAppeal)
        if (s.openAppeal) {
            ChipRow {
                knownTopics().forEach { t ->
                    FilterChip(selected = s.appealTopic == t, onClick = { model.setAppealTopic(t) }, label = { Text(topicLabel(t, lang)) })
                }
            }
            ChipRow {
                Tier.entries.forEach { t ->
                    FilterChip(selected = s.appealTier == t, onClick = { model.setAppealTier(t) }, label = { Text(tierLabel(t, lang)) })
                }
            }
            OutlinedTextField(
                value = s.appealSummary,
                onValueChange = model::setAppealSummary,
                label = { Text(stringResource(R.string.visit_appeal_summary)) },
                modifier = Modifier.fillMaxWidth(),
            )
        }
        s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error) }
        Button(
            onClick = { scope.launch { io { model.save() } } },
            enabled = !s.saving,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(stringResource(R.string.visit_save)) }
    }
}

@Composable
private fun ChipRow(content: @Composable () -> Unit) {
    Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) { content() }
}

@Composable
private fun SwitchLine(label: String, checked: Boolean, onChange: (Boolean) -> Unit) {
    Row(Modifier.fillMaxWidth(), verticalAlignment = Alignment.CenterVertically) {
        Text(label, Modifier.weight(1f), style = MaterialTheme.typography.titleMedium)
        Switch(checked = checked, onCheckedChange = onChange)
    }
}
