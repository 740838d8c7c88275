package app.doorstep.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
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

/**
 * The liaison lead's help-a-hand list (搭把手), in large type: open tasks with one big "I'll do
 * it" button, the lead's own with one big "done" button, and a kind word when another lead's
 * claim won while this phone was offline.
 */
@Composable
fun HelpListScreen(m: Observed<HelpTasksScreen, HelpTasksView>, store: DoorstepStore) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    LaunchedEffect(Unit) { io { m.screen.refresh() } }
    LazyColumn(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        s.problem?.let { p -> item { Text(problemText(p), style = LargeType.body, color = MaterialTheme.colorScheme.error) } }
        items(s.lost, key = { "lost" + it.id }) { t ->
            Text(stringResource(R.string.help_lost, t.need, t.claimantName ?: ""), style = LargeType.body, color = DueSoon)
        }
        item { Text(stringResource(R.string.help_mine), style = LargeType.title) }
        if (s.mine.isEmpty()) item { Text(stringResource(R.string.help_none), style = LargeType.body) }
        // A photo for the task about to be marked done (what was bought, the resident home safe).
        if (s.mine.isNotEmpty()) item {
            PhotoRow(store, s.photos, onAdd = { m.screen.addPhoto(it) }, onRemove = { m.screen.removePhoto(it) })
        }
        items(s.mine, key = { "mine" + it.id }) { t ->
            TaskCard(t, stringResource(R.string.help_done)) { scope.launch { io { m.screen.done(t.id, "") } } }
        }
        item { Text(stringResource(R.string.help_open), style = LargeType.title) }
        if (s.open.isEmpty()) item { Text(stringResource(R.string.help_none), style = LargeType.body) }
        items(s.open, key = { "open" + it.id }) { t ->
            TaskCard(t, stringResource(R.string.help_claim)) { scope.launch { io { m.screen.claim(t.id) } } }
        }
        if (s.doneRecently.isNotEmpty()) item { Text(stringResource(R.string.help_done_recently), style = LargeType.title) }
        items(s.doneRecently, key = { "done" + it.id }) { t ->
            Text("✓ ${t.need} · ${t.householdName} · ${t.claimantName ?: ""}", style = LargeType.body)
        }
    }
}

@Composable
private fun TaskCard(t: TaskRow, action: String, onAction: () -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(t.need, style = LargeType.title)
            Text("${t.householdName} · ${t.address}", style = LargeType.body)
            t.phone?.let { Text(it, style = LargeType.body) }
            t.dueBy?.let { Text(stringResource(R.string.help_due, dateTime(it)), style = LargeType.body) }
            Button(onClick = onAction, modifier = Modifier.fillMaxWidth().heightIn(min = 64.dp)) {
                Text(action, style = LargeType.button)
            }
        }
    }
}
