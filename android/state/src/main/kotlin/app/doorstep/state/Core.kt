package app.doorstep.state

import app.doorstep.core.DoorstepException
import app.doorstep.core.DoorstepStore
import app.doorstep.core.Lang
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * The shells' one way into the core: every call runs on [io] (never the UI thread: writes wait
 * for the disk, a sync waits for the network) and comes back as an [Outcome], with the core's
 * typed error turned into a [Problem] a screen can put into words.
 *
 * Nothing here decides anything about households, visits, tasks or appeals: the state holders
 * only keep what a screen shows and call the core when a person acts.
 */
class Core(
    val store: DoorstepStore,
    val io: CoroutineDispatcher = Dispatchers.IO,
    /** The time screens are drawn at (epoch ms); tests pass a fixed clock. */
    val clock: () -> Long = System::currentTimeMillis,
    /** The language of the core's labels (tags, statuses, deadlines): zh-CN first. */
    val lang: Lang = Lang.ZH_CN,
) {
    suspend fun <T> call(block: (DoorstepStore) -> T): Outcome<T> = withContext(io) {
        try {
            Outcome.Ok(block(store))
        } catch (e: DoorstepException) {
            Outcome.Failed(Problem.of(e))
        }
    }
}

/** What a call into the core gave: a value, or a problem to show. */
sealed interface Outcome<out T> {
    data class Ok<T>(val value: T) : Outcome<T>
    data class Failed(val problem: Problem) : Outcome<Nothing>

    fun valueOrNull(): T? = (this as? Ok<T>)?.value
    fun problemOrNull(): Problem? = (this as? Failed)?.problem
}

/** The language a device's locale asks for: English for `en`, zh-CN for everything else. */
fun langFor(languageTag: String): Lang =
    if (languageTag.lowercase().startsWith("en")) Lang.EN else Lang.ZH_CN
