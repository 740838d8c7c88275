package app.doorstep.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.List
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import app.doorstep.android.AppContainer
import app.doorstep.android.R
import app.doorstep.core.AppealDetailScreen
import app.doorstep.core.AppealLedgerScreen
import app.doorstep.core.Enrollment
import app.doorstep.core.EnrollmentScreen
import app.doorstep.core.GridSummaryScreen
import app.doorstep.core.HelpTasksScreen
import app.doorstep.core.HomeScreen
import app.doorstep.core.HouseholdDetailScreen
import app.doorstep.core.HouseholdListScreen
import app.doorstep.core.ScreenProblem
import app.doorstep.core.VisitFormScreen
import app.doorstep.core.homeScreen
import app.doorstep.state.io
import app.doorstep.state.observe

/**
 * The app: the first screen follows the enrollment's role; a sync bar on every screen after
 * enrollment; a grid worker switches between households and the appeal ledger.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun DoorstepApp(c: AppContainer, link: String?, onLinkUsed: () -> Unit) {
    val store = c.store
    val lang = c.lang
    var enrollment by remember { mutableStateOf<Enrollment?>(null) }
    var home by remember { mutableStateOf<HomeScreen?>(null) }
    LaunchedEffect(Unit) {
        enrollment = io { runCatching { store.enrollment() }.getOrNull() }
        home = io { homeScreen(store) }
    }
    val nav = rememberNavController()
    val sync = remember { observe(c.syncBar) }
    // Lists read again after a sync pulled something; a counter keys their effects.
    var pulled by remember { mutableStateOf(0) }
    val syncState by sync.state.collectAsState()
    // Revoked: the core wiped the store; start again at enrollment.
    LaunchedEffect(syncState.wiped) {
        if (syncState.wiped && enrollment != null) {
            enrollment = null
            home = HomeScreen.ENROLL
            nav.navigate("enroll") { popUpTo(0) }
        }
    }
    val start = home ?: return
    val current by nav.currentBackStackEntryAsState()
    val route = current?.destination?.route
    Scaffold(
        topBar = { TopAppBar(title = { Text(stringResource(R.string.app_name)) }) },
        bottomBar = {
            if (start == HomeScreen.HOUSEHOLDS && (route == "households" || route == "ledger")) {
                NavigationBar {
                    NavigationBarItem(selected = route == "households", onClick = { nav.navigate("households") { launchSingleTop = true } },
                        icon = { Icon(Icons.Filled.Home, null) }, label = { Text(stringResource(R.string.tab_households)) })
                    NavigationBarItem(selected = route == "ledger", onClick = { nav.navigate("ledger") { launchSingleTop = true } },
                        icon = { Icon(Icons.Filled.List, null) }, label = { Text(stringResource(R.string.tab_ledger)) })
                }
            }
        },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding)) {
            if (enrollment != null) SyncBar(sync, lang) { pulled++ }
            NavHost(nav, startDestination = routeOf(start)) {
                composable("enroll") {
                    EnrollScreen(remember { observe(EnrollmentScreen(store)) }, link, onLinkUsed) { e ->
                        enrollment = e
                        val next = homeScreen(store)
                        home = next
                        nav.navigate(routeOf(next)) { popUpTo("enroll") { inclusive = true } }
                    }
                }
                composable("households") {
                    val m = remember(enrollment) { observe(HouseholdListScreen(store, enrollment?.grids.orEmpty(), 50u)) }
                    LaunchedEffect(pulled) { io { m.screen.refresh() } }
                    HouseholdsScreen(m, lang) { id -> nav.navigate("household/$id") }
                }
                composable("household/{id}") { entry ->
                    val id = entry.arguments?.getString("id") ?: return@composable
                    val m = remember(id) { observe(HouseholdDetailScreen(store, id)) }
                    LaunchedEffect(pulled) { io { m.screen.refresh() } }
                    HouseholdScreen(m, lang, onVisit = { nav.navigate("visit/$id") }, onAppeal = { a -> nav.navigate("appeal/$a") })
                }
                composable("visit/{id}") { entry ->
                    val id = entry.arguments?.getString("id") ?: return@composable
                    VisitScreen(remember(id) { observe(VisitFormScreen(store, id)) }, store, lang) { nav.popBackStack() }
                }
                composable("ledger") {
                    val m = remember { observe(AppealLedgerScreen(store, null)) }
                    LaunchedEffect(pulled) { io { m.screen.refresh() } }
                    LedgerScreen(m, lang) { a -> nav.navigate("appeal/$a") }
                }
                composable("appeal/{id}") { entry ->
                    val id = entry.arguments?.getString("id") ?: return@composable
                    AppealScreen(remember(id) { observe(AppealDetailScreen(store, id)) }, store, lang)
                }
                composable("help") {
                    val e = enrollment ?: return@composable
                    val m = remember(e) { observe(HelpTasksScreen(store, e.groups, e.person.id)) }
                    LaunchedEffect(pulled) { io { m.screen.refresh() } }
                    HelpListScreen(m, store)
                }
                composable("summary") {
                    val m = remember(enrollment) { observe(GridSummaryScreen(store, enrollment?.grids.orEmpty())) }
                    LaunchedEffect(pulled) { io { m.screen.refresh() } }
                    SummaryScreen(m)
                }
                composable("elsewhere") {
                    Text(stringResource(R.string.not_on_phones), modifier = Modifier.padding(24.dp), style = MaterialTheme.typography.bodyLarge)
                }
            }
        }
    }
}

private fun routeOf(home: HomeScreen) = when (home) {
    HomeScreen.ENROLL -> "enroll"
    HomeScreen.HOUSEHOLDS -> "households"
    HomeScreen.HELP_LIST -> "help"
    HomeScreen.SUMMARY -> "summary"
    HomeScreen.NOT_ON_PHONES -> "elsewhere"
}

/** The store could not be opened (a wrong key after a restore, a full disk): say so. */
@Composable
fun StoreUnavailable(problem: ScreenProblem) {
    Column(Modifier.fillMaxSize().padding(24.dp)) {
        Text(stringResource(R.string.store_unavailable), style = MaterialTheme.typography.headlineSmall)
        Text(problemText(problem), style = MaterialTheme.typography.bodyLarge)
    }
}
