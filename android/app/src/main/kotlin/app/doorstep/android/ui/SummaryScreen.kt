package app.doorstep.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.lazy.itemsIndexed
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.android.R
import app.doorstep.core.*
import app.doorstep.state.Observed
import app.doorstep.state.io

/** A supervisor's read-only summary: the dashboard's figures for its grids, as of its last sync. */
@Composable
fun SummaryScreen(m: Observed<GridSummaryScreen, GridSummaryView>) {
    val s by m.state.collectAsState()
    LaunchedEffect(Unit) { io { m.screen.refresh() } }
    LazyColumn(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        s.problem?.let { p -> item { Text(problemText(p), color = MaterialTheme.colorScheme.error) } }
        // A supervisor's phone holds no households: the figures are the server's, as of its last sync.
        s.asOf?.let { at -> item { Text(stringResource(R.string.summary_as_of, dateTime(at)), style = MaterialTheme.typography.bodySmall) } }
        // The core's percents: one per grid in order, then the total's.
        item { Figures(stringResource(R.string.summary_total), s.total, s.coveragePercent.lastOrNull()?.toInt() ?: 0) }
        itemsIndexed(s.grids, key = { _, g -> g.grid }) { i, g -> Figures(g.grid, g, s.coveragePercent.getOrNull(i)?.toInt() ?: 0) }
    }
}

@Composable
private fun Figures(title: String, g: GridSummary, percent: Int) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text(title, style = MaterialTheme.typography.titleLarge)
            Text(stringResource(R.string.summary_coverage, g.visited30Days.toInt(), g.households.toInt(), percent))
            LinearProgressIndicator(progress = { percent / 100f }, modifier = Modifier.fillMaxWidth())
            Text(stringResource(R.string.summary_never, g.neverVisited.toInt()))
            Text(stringResource(R.string.summary_attention, g.attention.toInt()))
            Text(stringResource(R.string.summary_tasks, g.openTasks.toInt()))
            Text(
                stringResource(R.string.summary_appeals, g.openAppeals.toInt(), g.overdueAppeals.toInt()),
                color = if (g.overdueAppeals > 0u) Overdue else MaterialTheme.colorScheme.onSurface,
            )
            if (g.planHouseholds > 0u) {
                Text(
                    stringResource(R.string.summary_plan, g.planOverdue.toInt(), g.planHouseholds.toInt()),
                    color = if (g.planOverdue > 0u) Overdue else MaterialTheme.colorScheme.onSurface,
                )
            }
        }
    }
}
