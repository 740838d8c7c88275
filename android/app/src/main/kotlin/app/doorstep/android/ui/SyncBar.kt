package app.doorstep.android.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
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

/** Changes waiting, the last sync, the last error in words, and a button to sync now. */
@Composable
fun SyncBar(m: Observed<SyncBarScreen, SyncBarView>, lang: Lang, onSynced: () -> Unit) {
    val s by m.state.collectAsState()
    val scope = rememberCoroutineScope()
    LaunchedEffect(Unit) { io { m.screen.refresh() } }
    val problem = s.problem
    Row(
        Modifier.fillMaxWidth()
            .background(if (problem != null) MaterialTheme.colorScheme.errorContainer else MaterialTheme.colorScheme.surfaceVariant)
            .padding(horizontal = 12.dp, vertical = 6.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Column(Modifier.weight(1f)) {
            Text(
                if (s.unsynced == 0UL) stringResource(R.string.sync_all_sent)
                else stringResource(R.string.sync_waiting, s.unsynced.toLong()),
                style = MaterialTheme.typography.bodyMedium,
            )
            Text(
                s.lastSuccessAt?.let { stringResource(R.string.sync_last, ago(it)) } ?: stringResource(R.string.sync_never),
                style = MaterialTheme.typography.bodySmall,
            )
            if (problem != null) Text(problemText(problem), style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.error)
            if (s.clockWrong) Text(stringResource(R.string.sync_clock_wrong), style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.error)
            // Being handed over: say so and why before anything is erased; the person finishes.
            if (s.handover) {
                Text(stringResource(R.string.sync_handover), style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.error)
                TextButton(onClick = { scope.launch { io { m.screen.finishHandover() } } }, enabled = !s.running) {
                    Text(stringResource(R.string.sync_handover_finish))
                }
            }
            s.ended?.let { e ->
                Text(
                    if (e.how == "handed_over") stringResource(R.string.sync_ended_handed_over, e.kept.toInt())
                    else stringResource(R.string.sync_ended_revoked),
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            for (r in s.refused) {
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text(
                        stringResource(R.string.sync_refused, if (lang == Lang.EN) r.reasonEn else r.reasonZh, r.actions.joinToString()),
                        Modifier.weight(1f),
                        style = MaterialTheme.typography.bodySmall,
                        color = MaterialTheme.colorScheme.error,
                    )
                    TextButton(onClick = { scope.launch { io { m.screen.dropRefused(r.docId) } } }) {
                        Text(stringResource(R.string.sync_refused_drop))
                    }
                }
            }
        }
        if (s.running) {
            CircularProgressIndicator(Modifier.padding(8.dp))
        } else {
            TextButton(onClick = { scope.launch { if (io { m.screen.syncNow() }) onSynced() } }) {
                Text(stringResource(R.string.sync_now))
            }
        }
    }
}
