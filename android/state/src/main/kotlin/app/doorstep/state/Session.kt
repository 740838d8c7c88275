package app.doorstep.state

import app.doorstep.core.DoorstepException
import app.doorstep.core.DoorstepStore
import app.doorstep.core.Enrollment
import app.doorstep.core.HomeScreen
import app.doorstep.core.homeScreen
import kotlinx.coroutines.withContext

/**
 * Opens this phone's store, encrypted with [key] (32 bytes the shell keeps in the Android
 * Keystore or the iOS Keychain). A wrong key is [Problem.Kind.WRONG_KEY]: the app says so and
 * offers to enroll again (the data is on the server), never reads garbage.
 */
fun openStore(path: String, key: ByteArray): Outcome<DoorstepStore> = try {
    Outcome.Ok(DoorstepStore.openEncrypted(path, key))
} catch (e: DoorstepException) {
    Outcome.Failed(Problem.of(e))
}

/** The screen a person lands on, by the role the server gave at enrollment (the core decides: `homeScreen`). */
enum class Home {
    /** Not enrolled yet: scan or type the code. */
    ENROLL,
    /** A grid worker (网格员): my grid's households. */
    HOUSEHOLDS,
    /** A liaison lead (联户长): the help-a-hand list, in large type. */
    HELP_LIST,
    /** A supervisor: the read-only summary of the grids in their scope. */
    SUMMARY,
    /** An administrator works on the dashboard, not on a phone. */
    NOT_ON_PHONES;

    companion object {
        fun of(h: HomeScreen): Home = when (h) {
            HomeScreen.ENROLL -> ENROLL
            HomeScreen.HOUSEHOLDS -> HOUSEHOLDS
            HomeScreen.HELP_LIST -> HELP_LIST
            HomeScreen.SUMMARY -> SUMMARY
            HomeScreen.NOT_ON_PHONES -> NOT_ON_PHONES
        }

        /** The home of the store's enrollment, as the core decides it. */
        fun of(store: DoorstepStore): Home = of(homeScreen(store))
    }
}

/**
 * Who uses this phone, as the store remembers it: the enrollment (server, person, role, grids,
 * groups) decides the first screen and which grid or group the lists show.
 */
class Session(val core: Core) {
    suspend fun enrollment(): Outcome<Enrollment?> = core.call { it.enrollment() }

    suspend fun home(): Home = withContext(core.io) { Home.of(core.store) }
}
