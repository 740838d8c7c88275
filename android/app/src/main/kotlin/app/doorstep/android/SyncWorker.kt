package app.doorstep.android

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import app.doorstep.state.io

/**
 * Syncs in the background through the app's one sync bar screen, so the bar shows the outcome.
 * A problem that may go away by itself (offline, a busy server: the core decides) retries with
 * WorkManager's backoff; anything else (revoked, not enrolled) waits for the person to act.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val bar = (applicationContext as DoorstepApplication).container?.syncBar ?: return Result.failure()
        return when {
            io { bar.sync() } -> Result.success()
            bar.view().retryLater -> Result.retry()
            else -> Result.failure()
        }
    }
}
