package app.doorstep.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.android.R
import app.doorstep.core.*
import app.doorstep.state.Observed
import app.doorstep.state.io
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch

/** My grid's households: search by name, address or phone; filter by tag; not visited lately. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun HouseholdsScreen(m: Observed<HouseholdListScreen, HouseholdListView>, lang: Lang, onOpen: (String) -> Unit) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    var query by remember { mutableStateOf(s.search) }
    LaunchedEffect(Unit) { io { m.screen.refresh() } }
    // Search as the person types, a moment after they stop.
    LaunchedEffect(query) { delay(250); if (query != s.search) io { m.screen.setSearch(query) } }
    Column(Modifier.fillMaxSize()) {
        OutlinedTextField(
            value = query,
            onValueChange = { query = it },
            label = { Text(stringResource(R.string.households_search)) },
            singleLine = true,
            modifier = Modifier.fillMaxWidth().padding(12.dp),
        )
        Row(
            Modifier.horizontalScroll(rememberScrollState()).padding(horizontal = 12.dp),
            horizontalArrangement = Arrangement.spacedBy(8.dp),
        ) {
            FilterChip(
                selected = s.notVisitedLately,
                onClick = { scope.launch { io { m.screen.setNotVisitedLately(!s.notVisitedLately) } } },
                label = { Text(stringResource(R.string.households_not_visited)) },
            )
            AttentionTag.entries.forEach { tag ->
                FilterChip(
                    selected = s.tag == tag,
                    onClick = { scope.launch { io { m.screen.setTag(if (s.tag == tag) null else tag) } } },
                    label = { Text(attentionTagLabel(tag, lang)) },
                )
            }
        }
        s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error, modifier = Modifier.padding(12.dp)) }
        LazyColumn(Modifier.fillMaxSize()) {
            // Visits due under the visit plans, overdue first (未诉先办), above the list.
            if (s.due.isNotEmpty() && s.search.isEmpty()) {
                item {
                    Text(
                        stringResource(R.string.households_due, s.due.size, s.overdue.toInt()),
                        style = MaterialTheme.typography.titleMedium,
                        modifier = Modifier.padding(horizontal = 16.dp, vertical = 8.dp),
                    )
                }
                items(s.due, key = { "due-" + it.householdId }) { d ->
                    DueLine(d, lang) { onOpen(d.householdId) }
                }
                item { HorizontalDivider() }
            }
            items(s.rows, key = { it.id }) { row ->
                HouseholdLine(row, lang) { onOpen(row.id) }
                HorizontalDivider()
            }
            if (s.more) item { LaunchedEffect(s.rows.size) { io { m.screen.loadMore() } } }
            if (s.rows.isEmpty()) item {
                Text(stringResource(R.string.households_none), modifier = Modifier.padding(24.dp))
            }
        }
    }
}

@Composable
private fun DueLine(d: DueVisit, lang: Lang, onClick: () -> Unit) {
    Column(Modifier.fillMaxWidth().clickable(onClick = onClick).padding(horizontal = 16.dp, vertical = 8.dp)) {
        Text("${d.address}  ${d.name}", style = MaterialTheme.typography.titleMedium)
        val line = if (d.overdue) stringResource(R.string.due_overdue, ago(d.dueAt), d.days.toInt())
        else stringResource(R.string.due_today, d.days.toInt())
        Text(
            "$line · ${d.planName}",
            style = MaterialTheme.typography.bodySmall,
            color = if (d.overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.primary,
        )
    }
}

@Composable
private fun HouseholdLine(row: HouseholdRow, lang: Lang, onClick: () -> Unit) {
    Column(Modifier.fillMaxWidth().clickable(onClick = onClick).padding(horizontal = 16.dp, vertical = 10.dp)) {
        Text("${row.address}  ${row.name}", style = MaterialTheme.typography.titleMedium)
        val visited = row.lastVisitAt?.let { stringResource(R.string.households_visited, ago(it)) }
            ?: stringResource(R.string.households_never_visited)
        Text(visited, style = MaterialTheme.typography.bodySmall)
        if (row.tags.isNotEmpty()) {
            Text(row.tags.joinToString(" · ") { attentionTagLabel(it, lang) }, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.primary)
        }
    }
}
