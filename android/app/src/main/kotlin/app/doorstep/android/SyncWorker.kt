package app.doorstep.android

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import app.doorstep.state.Outcome
import app.doorstep.state.Problem

/**
 * Syncs in the background. The core records the outcome in the store, so the sync bar shows it
 * the next time the app is opened. Offline or rate-limited: retry with WorkManager's backoff;
 * anything else (revoked, not enrolled) waits for the person to act.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = applicationContext as DoorstepApplication
        val container = (app.opened as? Outcome.Ok)?.value ?: return Result.failure()
        if (container.core.call { it.enrollment() }.valueOrNull() == null) return Result.success()
        return when (val r = container.syncer.sync()) {
            is Outcome.Ok -> Result.success()
            is Outcome.Failed -> when (r.problem.kind) {
                Problem.Kind.OFFLINE, Problem.Kind.RATE_LIMITED, Problem.Kind.SERVER -> Result.retry()
                else -> Result.failure()
            }
        }
    }
}
