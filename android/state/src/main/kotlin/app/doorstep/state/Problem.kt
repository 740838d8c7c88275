package app.doorstep.state

import app.doorstep.core.DoorstepException
import app.doorstep.core.ProblemKind
import app.doorstep.core.ScreenProblem

/**
 * Why something did not work, in kinds a screen has words for (the Android string resources
 * and the iOS Localizable.strings name one text per kind). [detail] is the core's own message,
 * for a support call; [field] names the input at fault when there is one.
 */
data class Problem(val kind: Kind, val detail: String = "", val field: String? = null) {
    enum class Kind {
        /** No network, or the server cannot be reached: nothing is lost, sync later. */
        OFFLINE,
        /** The enrollment code is wrong, used or expired. */
        BAD_CODE,
        /** This phone was revoked by an administrator. */
        REVOKED,
        /** This phone is not enrolled with a server. */
        NOT_ENROLLED,
        /** The server refused some data as outside this phone's grid or group. */
        OUT_OF_SCOPE,
        /** Too many requests: wait a moment. */
        RATE_LIMITED,
        /** The server refused for another reason ([detail] says which). */
        SERVER,
        /** An input is not acceptable ([field] says which). */
        INVALID,
        /** The action does not fit the current state (e.g. claiming a task already done). */
        NOT_ALLOWED,
        /** The record is not on this phone (yet). */
        NOT_FOUND,
        /** The database key does not open this phone's store (see [openStore]). */
        WRONG_KEY,
        /** The phone's storage failed (full, damaged). */
        STORAGE,
        /** A bug in Doorstep. Nothing was written. */
        INTERNAL,
    }

    companion object {
        /** A shared screen's problem (the core decided its kind). */
        fun of(p: ScreenProblem): Problem = Problem(
            when (p.kind) {
                ProblemKind.OFFLINE -> Kind.OFFLINE
                ProblemKind.BAD_CODE -> Kind.BAD_CODE
                ProblemKind.REVOKED -> Kind.REVOKED
                ProblemKind.NOT_ENROLLED -> Kind.NOT_ENROLLED
                ProblemKind.OUT_OF_SCOPE -> Kind.OUT_OF_SCOPE
                ProblemKind.RATE_LIMITED -> Kind.RATE_LIMITED
                ProblemKind.SERVER -> Kind.SERVER
                ProblemKind.INVALID -> Kind.INVALID
                ProblemKind.NOT_ALLOWED -> Kind.NOT_ALLOWED
                ProblemKind.NOT_FOUND -> Kind.NOT_FOUND
                ProblemKind.WRONG_KEY -> Kind.WRONG_KEY
                ProblemKind.STORAGE -> Kind.STORAGE
                ProblemKind.INTERNAL -> Kind.INTERNAL
            },
            p.detail,
            p.field,
        )

        fun of(e: DoorstepException): Problem = when (e) {
            is DoorstepException.Offline -> Problem(Kind.OFFLINE, e.reason)
            is DoorstepException.WrongKey -> Problem(Kind.WRONG_KEY, e.message ?: "")
            is DoorstepException.Server -> fromServerCode(e.code, e.detail)
            is DoorstepException.Invalid -> Problem(Kind.INVALID, e.reason, e.field)
            is DoorstepException.NotAllowed ->
                if (e.reason.contains("not enrolled")) Problem(Kind.NOT_ENROLLED, e.reason)
                else Problem(Kind.NOT_ALLOWED, e.reason)
            is DoorstepException.NotFound -> Problem(Kind.NOT_FOUND, "${e.kind} ${e.id}")
            is DoorstepException.NoUser -> Problem(Kind.NOT_ENROLLED, e.message ?: "")
            is DoorstepException.Storage -> Problem(Kind.STORAGE, e.reason)
            is DoorstepException.Decode -> Problem(Kind.INVALID, e.reason)
            is DoorstepException.Refused ->
                Problem(Kind.NOT_ALLOWED, "${e.reasonZh} / ${e.reasonEn}", e.rule)
            is DoorstepException.Schema -> Problem(Kind.SERVER, e.reason)
            is DoorstepException.MissingDependencies -> Problem(Kind.SERVER, e.docId)
            is DoorstepException.Internal -> Problem(Kind.INTERNAL, e.reason)
        }

        /** From the sync status's stable code (`offline`, `server:device_revoked`, ...). */
        fun fromSyncCode(code: String, detail: String): Problem = when {
            code == "offline" -> Problem(Kind.OFFLINE, detail)
            code == "not_enrolled" -> Problem(Kind.NOT_ENROLLED, detail)
            code == "storage" -> Problem(Kind.STORAGE, detail)
            code.startsWith("server:") -> fromServerCode(code.removePrefix("server:"), detail)
            code == "decode" -> Problem(Kind.SERVER, detail)
            else -> Problem(Kind.INTERNAL, detail)
        }

        private fun fromServerCode(code: String, detail: String): Problem = when (code) {
            "device_revoked", "unauthorized" -> Problem(Kind.REVOKED, detail)
            "bad_enrollment_code" -> Problem(Kind.BAD_CODE, detail)
            "out_of_scope", "forbidden" -> Problem(Kind.OUT_OF_SCOPE, detail)
            "rate_limited" -> Problem(Kind.RATE_LIMITED, detail)
            else -> Problem(Kind.SERVER, "$code: $detail")
        }
    }
}
