package app.doorstep.state

import app.doorstep.core.Enrollment
import app.doorstep.core.EnrollmentListener
import app.doorstep.core.EnrollmentScreen
import app.doorstep.core.EnrollmentView
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withContext

/** The enrollment screen, as the core's shared screen decides it (screens/src/enrollment.rs). */
data class EnrollmentState(
    val serverUrl: String = "",
    val code: String = "",
    val busy: Boolean = false,
    val problem: Problem? = null,
    /** Set once the server took the code: the app moves on to [Home.of] this. */
    val enrolled: Enrollment? = null,
) {
    companion object {
        fun of(v: EnrollmentView) =
            EnrollmentState(v.serverUrl, v.code, v.busy, v.problem?.let(Problem::of), v.enrolled)
    }
}

class EnrollmentModel(private val core: Core) {
    private val screen = EnrollmentScreen(core.store)
    private val _state = MutableStateFlow(EnrollmentState.of(screen.view()))
    val state: StateFlow<EnrollmentState> = _state

    init {
        screen.setListener(object : EnrollmentListener {
            override fun changed(view: EnrollmentView) { _state.value = EnrollmentState.of(view) }
        })
    }

    fun setServerUrl(url: String) = screen.setServerUrl(url)
    fun setCode(code: String) = screen.setCode(code)

    /** A scanned QR code fills both fields and enrolls at once. */
    suspend fun scanned(text: String) = withContext(core.io) { screen.scanned(text) }

    suspend fun submit() = withContext(core.io) { screen.submit() }
}
