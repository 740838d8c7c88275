package app.doorstep.android

import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import app.doorstep.state.Core
import app.doorstep.state.Outcome
import app.doorstep.state.Problem
import app.doorstep.state.Syncer
import app.doorstep.state.langFor
import app.doorstep.state.openStore
import java.io.File
import java.util.Locale
import java.util.concurrent.TimeUnit

/** What every screen and the sync worker share: one store, one core, one syncer. */
class AppContainer(val core: Core, val syncer: Syncer)

class DoorstepApplication : Application() {
    /** The opened store, or why it could not be opened (shown by MainActivity). */
    lateinit var opened: Outcome<AppContainer>
        private set

    override fun onCreate() {
        super.onCreate()
        val key = DatabaseKey(this).get()
        val path = File(noBackupFilesDir, "doorstep.db").path
        opened = when (val s = openStore(path, key)) {
            is Outcome.Ok -> {
                val core = Core(s.value, lang = langFor(Locale.getDefault().toLanguageTag()))
                Outcome.Ok(AppContainer(core, Syncer(core)))
            }
            is Outcome.Failed -> s
        }
        scheduleSync()
    }

    /**
     * Background sync with WorkManager: every hour while a network is there, and once at once
     * whenever a network comes back (the grid worker walks out of a basement with changes).
     */
    private fun scheduleSync() {
        val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()
        val wm = WorkManager.getInstance(this)
        wm.enqueueUniquePeriodicWork(
            "sync-hourly",
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<SyncWorker>(1, TimeUnit.HOURS).setConstraints(online).build(),
        )
        val cm = getSystemService(ConnectivityManager::class.java)
        cm.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                wm.enqueueUniqueWork(
                    "sync-on-network",
                    ExistingWorkPolicy.REPLACE,
                    OneTimeWorkRequestBuilder<SyncWorker>().setConstraints(online).build(),
                )
            }
        })
    }

    companion object {
        fun problemOpening(o: Outcome<AppContainer>): Problem? = o.problemOrNull()
    }
}
