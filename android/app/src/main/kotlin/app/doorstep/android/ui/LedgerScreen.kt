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
import androidx.compose.material3.OutlinedButton
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

/** The appeal ledger: overdue first, each line with its tier's countdown, recounted each minute. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun LedgerScreen(m: Observed<AppealLedgerScreen, AppealLedgerView>, lang: Lang, onOpen: (String) -> Unit) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    LaunchedEffect(Unit) { while (true) { io { m.screen.tick() }; delay(60_000) } }
    Column(Modifier.fillMaxSize()) {
        Row(Modifier.horizontalScroll(rememberScrollState()).padding(12.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            FilterChip(selected = s.overdueOnly, onClick = { scope.launch { io { m.screen.setOverdueOnly(!s.overdueOnly) } } },
                label = { Text(stringResource(R.string.ledger_overdue_only)) })
            Tier.entries.forEach { t ->
                FilterChip(selected = s.tier == t, onClick = { scope.launch { io { m.screen.setTier(if (s.tier == t) null else t) } } },
                    label = { Text(tierLabel(t, lang)) })
            }
        }
        s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error, modifier = Modifier.padding(12.dp)) }
        if (s.total > 0u) Text(stringResource(R.string.ledger_total, s.total.toInt()), style = MaterialTheme.typography.bodySmall, modifier = Modifier.padding(horizontal = 16.dp))
        LazyColumn(Modifier.fillMaxSize()) {
            items(s.lines, key = { it.id }) { row ->
                Column(Modifier.fillMaxWidth().clickable { onOpen(row.id) }.padding(horizontal = 16.dp, vertical = 10.dp)) {
                    Text(
                        deadlineWords(row.deadline, lang),
                        style = MaterialTheme.typography.titleMedium,
                        color = when (row.deadline) {
                            is Deadline.Overdue -> Overdue
                            is Deadline.DueSoon -> DueSoon
                            else -> MaterialTheme.colorScheme.onSurface
                        },
                    )
                    Text("${topicLabel(row.topic, lang)} · ${tierLabel(row.tier, lang)} · ${appealStatusLabel(row.status, lang)}")
                    Text(row.summary, style = MaterialTheme.typography.bodySmall)
                }
                HorizontalDivider()
            }
            // The core reads 50 rows at a time: the next ones when the end comes into view.
            if (s.more) item { LaunchedEffect(s.lines.size) { io { m.screen.loadMore() } } }
            if (s.lines.isEmpty()) item { Text(stringResource(R.string.ledger_none), modifier = Modifier.padding(24.dp)) }
        }
    }
}

/** One appeal: its record and the buttons its status allows (the core says which). */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun AppealScreen(m: Observed<AppealDetailScreen, AppealDetailView>, store: DoorstepStore, lang: Lang) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    var note by remember { mutableStateOf("") }
    // Satisfaction for a feedback visit: asked, never assumed.
    var satisfaction by remember { mutableStateOf<Int?>(null) }
    LaunchedEffect(m) { io { m.screen.refresh() } }
    val a = s.appeal ?: return
    LazyColumn(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        item {
            Text(topicLabel(a.topic, lang), style = MaterialTheme.typography.headlineSmall)
            Text(deadlineWords(a.deadline, lang), style = MaterialTheme.typography.titleMedium)
            Text("${channelLabel(a.channel, lang)} · ${tierLabel(a.tier, lang)} · ${appealStatusLabel(a.status, lang)}")
            Text(a.summary)
            Text("${a.askerName} ${a.askerPhone ?: ""}", style = MaterialTheme.typography.bodySmall)
            OutlinedTextField(value = note, onValueChange = { note = it }, label = { Text(stringResource(R.string.appeal_note)) }, modifier = Modifier.fillMaxWidth())
            // Photos go with the next action taken (what was fixed, what the resident showed).
            PhotoRow(store, s.photos, onAdd = { m.screen.addPhoto(it) }, onRemove = { m.screen.removePhoto(it) })
            if (AppealEventKind.FEEDBACK in s.actions) {
                Text(stringResource(R.string.appeal_satisfaction))
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    (1..5).forEach { n ->
                        FilterChip(selected = satisfaction == n, onClick = { satisfaction = n }, label = { Text("$n") })
                    }
                }
            }
            s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error) }
        }
        // The buttons the core offers for this status and role.
        items(s.buttons) { kind ->
            OutlinedButton(
                onClick = { scope.launch { if (io { m.screen.take(kind, note, satisfaction?.toUByte()) }) note = "" } },
                enabled = kind != AppealEventKind.FEEDBACK || satisfaction != null,
                modifier = Modifier.fillMaxWidth(),
            ) { Text(appealEventLabel(kind, lang)) }
        }
        item { Text(stringResource(R.string.appeal_history), style = MaterialTheme.typography.titleMedium) }
        items(a.events.reversed(), key = { it.id }) { e ->
            val what = runCatching { appealEventLabel(AppealEventKind.valueOf(e.kind.uppercase()), lang) }.getOrDefault(e.kind)
            Text("${dateTime(e.at)} · $what · ${e.by.name} ${e.note}", style = MaterialTheme.typography.bodySmall)
            if (e.photos.isNotEmpty()) PhotoRow(store, e.photos, onAdd = {}, onRemove = {}, readOnly = true)
        }
    }
}
