package app.doorstep.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.android.R
import app.doorstep.core.*
import app.doorstep.state.Observed
import app.doorstep.state.io
import kotlinx.coroutines.launch

/** A household: residents, what is open (tasks, appeals), conflicts to settle, visits. */
@Composable
fun HouseholdScreen(m: Observed<HouseholdDetailScreen, HouseholdDetailView>, lang: Lang, onVisit: () -> Unit, onAppeal: (String) -> Unit) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    LaunchedEffect(m) { io { m.screen.refresh() } }
    val h = s.household
    LazyColumn(Modifier.fillMaxSize().padding(horizontal = 16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        item {
            s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error) }
            if (h != null) {
                Text(h.addressDisplay, style = MaterialTheme.typography.headlineSmall)
                Button(onClick = onVisit, modifier = Modifier.fillMaxWidth().padding(vertical = 8.dp)) {
                    Text(stringResource(R.string.household_record_visit))
                }
            }
        }
        val conflicts = s.items?.conflicts.orEmpty()
        if (conflicts.isNotEmpty()) item {
            Text(stringResource(R.string.household_conflicts), style = MaterialTheme.typography.titleMedium, color = MaterialTheme.colorScheme.error)
        }
        items(conflicts, key = { it.docId + it.path }) { c ->
            Card(Modifier.fillMaxWidth()) {
                Column(Modifier.padding(12.dp)) {
                    Text(stringResource(R.string.household_conflict_field, c.path))
                    c.options.forEachIndexed { i, o ->
                        OutlinedButton(
                            onClick = { scope.launch { io { m.screen.settle(c.docId, c.path, i.toUInt()) } } },
                            modifier = Modifier.fillMaxWidth(),
                        ) { Text(stringResource(R.string.household_conflict_keep, o.value, o.by.name, dateTime(o.at))) }
                    }
                }
            }
        }
        if (h != null) {
            item { Text(stringResource(R.string.household_residents), style = MaterialTheme.typography.titleMedium) }
            items(h.residents.filter { !it.movedOut }, key = { it.id }) { r ->
                Column {
                    Text("${r.name}（${r.relation}）${r.birthYear?.let { " $it" } ?: ""}", style = MaterialTheme.typography.bodyLarge)
                    r.phone?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
                    if (r.tags.isNotEmpty()) Text(r.tags.joinToString(" · ") { attentionTagLabel(it, lang) }, color = MaterialTheme.colorScheme.primary)
                }
            }
        }
        val tasks = s.items?.tasks.orEmpty()
        if (tasks.isNotEmpty()) item { Text(stringResource(R.string.household_tasks), style = MaterialTheme.typography.titleMedium) }
        items(tasks, key = { it.id }) { t ->
            Text("${t.need} · ${taskStatusLabel(t.status, lang)}${t.claimantName?.let { " · $it" } ?: ""}")
        }
        val appeals = s.items?.appeals.orEmpty()
        if (appeals.isNotEmpty()) item { Text(stringResource(R.string.household_appeals), style = MaterialTheme.typography.titleMedium) }
        items(appeals, key = { it.id }) { a ->
            Row(Modifier.fillMaxWidth().clickable { onAppeal(a.id) }.padding(vertical = 4.dp)) {
                Text("${topicLabel(a.topic, lang)} · ${deadlineWords(a.deadline, lang)}")
            }
        }
        if (s.visits.isNotEmpty()) item { Text(stringResource(R.string.household_visits), style = MaterialTheme.typography.titleMedium) }
        items(s.visits, key = { it.id }) { v ->
            Column {
                Text("${dateTime(v.at)} · ${visitKindLabel(v.kind, lang)} · ${v.by.name}", style = MaterialTheme.typography.bodySmall)
                if (v.notes.isNotEmpty()) Text(v.notes)
                if (v.needs.isNotEmpty()) Text(stringResource(R.string.household_needs, v.needs.joinToString("、")))
            }
        }
    }
}
