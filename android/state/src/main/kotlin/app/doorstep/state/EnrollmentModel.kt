package app.doorstep.state

import app.doorstep.core.Enrollment
import app.doorstep.core.parseEnrollmentLink
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update

/** The enrollment screen: the server address and one-time code, scanned or typed. */
data class EnrollmentState(
    val serverUrl: String = "",
    val code: String = "",
    val busy: Boolean = false,
    val problem: Problem? = null,
    /** Set once the server took the code: the app moves on to [Home.of] this. */
    val enrolled: Enrollment? = null,
)

class EnrollmentModel(private val core: Core) {
    private val _state = MutableStateFlow(EnrollmentState())
    val state: StateFlow<EnrollmentState> = _state

    fun setServerUrl(url: String) = _state.update { it.copy(serverUrl = url.trim(), problem = null) }

    fun setCode(code: String) = _state.update { it.copy(code = code.trim(), problem = null) }

    /**
     * A scanned QR code (`doorstep://enroll?server=...&code=...`): fills both fields and enrolls
     * at once, so scanning is the whole job.
     */
    suspend fun scanned(text: String) {
        val link = try {
            parseEnrollmentLink(text)
        } catch (e: app.doorstep.core.DoorstepException) {
            _state.update { it.copy(problem = Problem.of(e)) }
            return
        }
        _state.update { it.copy(serverUrl = link.serverUrl, code = link.code, problem = null) }
        submit()
    }

    suspend fun submit() {
        val s = _state.value
        if (s.busy) return
        when {
            s.serverUrl.isBlank() -> {
                _state.update { it.copy(problem = Problem(Problem.Kind.INVALID, "", "server_url")) }
                return
            }
            s.code.isBlank() -> {
                _state.update { it.copy(problem = Problem(Problem.Kind.INVALID, "", "code")) }
                return
            }
        }
        _state.update { it.copy(busy = true, problem = null) }
        when (val r = core.call { it.enroll(s.serverUrl, s.code) }) {
            is Outcome.Ok -> _state.update { it.copy(busy = false, enrolled = r.value) }
            is Outcome.Failed -> _state.update { it.copy(busy = false, problem = r.problem) }
        }
    }
}
