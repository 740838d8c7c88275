package app.doorstep.android

import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import android.util.Log
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import app.doorstep.core.DoorstepStore
import app.doorstep.core.Lang
import app.doorstep.core.ScreenProblem
import app.doorstep.core.SyncBarScreen
import app.doorstep.core.openStore
import app.doorstep.state.langFor
import app.doorstep.state.trustSystemRoots
import java.io.File
import java.util.Locale
import java.util.concurrent.TimeUnit

/**
 * What every screen and the sync worker share: one store, the language of the core's labels,
 * and one sync bar screen (the button and the background worker: one sync at a time).
 */
class AppContainer(val store: DoorstepStore, val lang: Lang) {
    val syncBar = SyncBarScreen(store)
}

class DoorstepApplication : Application() {
    /** The opened store (null if it could not be opened: [problem] says why, MainActivity shows it). */
    var container: AppContainer? = null
        private set
    var problem: ScreenProblem? = null
        private set

    override fun onCreate() {
        super.onCreate()
        // Before anything syncs (the sync worker runs in this process, after this): the
        // library trusts the system's roots as Android gives them.
        runCatching { trustSystemRoots() }
        val key = DatabaseKey(this).get()
        val path = File(noBackupFilesDir, "doorstep.db").path
        val opening = openStore(path, key)
        // A bug closed the app last time (the library aborts on a panic): where and why, kept in
        // the system log for whoever supports this phone.
        opening.lastCrash?.let { Log.e("Doorstep", "closed by a bug last time: $it") }
        container = opening.store?.let { AppContainer(it, langFor(Locale.getDefault().toLanguageTag())) }
        problem = opening.problem
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
}
