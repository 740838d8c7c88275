package app.doorstep.state

import app.doorstep.core.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext
import java.security.KeyStore
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

// The Android shell's whole adapter to the shared screens (screens/ in Rust, through the
// generated bindings): each screen's views become a StateFlow the Compose screens collect, and
// the screens' own methods take the events. Nothing here decides anything; the behaviour and
// its tests are in Rust (server/tests/screens.rs).

/**
 * Hands the system's trusted roots to the core, once at start: the library cannot read
 * Android's store itself (and carries no roots of its own, issue 23). The default
 * TrustManagerFactory gives the system's CAs on Android and the JVM's on the JVM, so the JVM
 * test runs this same code. Returns how many roots the core took.
 */
fun trustSystemRoots(): UInt {
    val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
    tmf.init(null as KeyStore?)
    val ders = tmf.trustManagers.filterIsInstance<X509TrustManager>().flatMap { it.acceptedIssuers.asList() }.map { it.encoded }
    return setSystemRoots(ders)
}

/** A shared screen and its views. The core's listener pushes each new view, from whichever thread made it. */
class Observed<S, V>(val screen: S, first: V) {
    private val flow = MutableStateFlow(first)
    val state: StateFlow<V> = flow

    fun push(view: V) {
        flow.value = view
    }
}

/**
 * Runs a screen's call off the UI thread: the calls that write wait for the disk, a sync for
 * the network. (Typing into a field, toggling a chip: call the screen directly.)
 */
suspend fun <T> io(block: () -> T): T = withContext(Dispatchers.IO) { block() }

fun observe(s: EnrollmentScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : EnrollmentListener { override fun changed(view: EnrollmentView) = o.push(view) })
}

fun observe(s: SyncBarScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : SyncBarListener { override fun changed(view: SyncBarView) = o.push(view) })
}

fun observe(s: HouseholdListScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : HouseholdListListener { override fun changed(view: HouseholdListView) = o.push(view) })
}

fun observe(s: HouseholdDetailScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : HouseholdDetailListener { override fun changed(view: HouseholdDetailView) = o.push(view) })
}

fun observe(s: VisitFormScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : VisitFormListener { override fun changed(view: VisitFormView) = o.push(view) })
}

fun observe(s: HelpTasksScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : HelpTasksListener { override fun changed(view: HelpTasksView) = o.push(view) })
}

fun observe(s: AppealLedgerScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : AppealLedgerListener { override fun changed(view: AppealLedgerView) = o.push(view) })
}

fun observe(s: AppealDetailScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : AppealDetailListener { override fun changed(view: AppealDetailView) = o.push(view) })
}

fun observe(s: GridSummaryScreen) = Observed(s, s.view()).also { o ->
    s.setListener(object : GridSummaryListener { override fun changed(view: GridSummaryView) = o.push(view) })
}

/** The language a device's locale asks for: English for `en`, zh-CN for everything else. */
fun langFor(languageTag: String): Lang =
    if (languageTag.lowercase().startsWith("en")) Lang.EN else Lang.ZH_CN
