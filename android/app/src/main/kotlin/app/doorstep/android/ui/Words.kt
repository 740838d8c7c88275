package app.doorstep.android.ui

import android.text.format.DateUtils
import androidx.compose.runtime.Composable
import androidx.compose.ui.res.stringResource
import app.doorstep.android.R
import app.doorstep.core.ProblemKind
import app.doorstep.core.ScreenProblem

/** A problem in the person's language (values/ is zh-CN, values-en/ English). */
@Composable
fun problemText(p: ScreenProblem): String = when (p.kind) {
    ProblemKind.OFFLINE -> stringResource(R.string.problem_offline)
    ProblemKind.BAD_CODE -> stringResource(R.string.problem_bad_code)
    ProblemKind.REVOKED -> stringResource(R.string.problem_revoked)
    ProblemKind.NOT_ENROLLED -> stringResource(R.string.problem_not_enrolled)
    ProblemKind.OUT_OF_SCOPE -> stringResource(R.string.problem_out_of_scope)
    ProblemKind.RATE_LIMITED -> stringResource(R.string.problem_rate_limited)
    ProblemKind.SERVER -> stringResource(R.string.problem_server, p.detail)
    ProblemKind.INVALID -> when (p.field) {
        "server_url" -> stringResource(R.string.problem_need_server)
        "code" -> stringResource(R.string.problem_need_code)
        else -> stringResource(R.string.problem_invalid, p.detail)
    }
    ProblemKind.NOT_ALLOWED -> stringResource(R.string.problem_not_allowed)
    ProblemKind.NOT_FOUND -> stringResource(R.string.problem_not_found)
    ProblemKind.WRONG_KEY -> stringResource(R.string.problem_wrong_key)
    ProblemKind.STORAGE -> stringResource(R.string.problem_storage)
    ProblemKind.INTERNAL -> stringResource(R.string.problem_internal)
}

/** "5 minutes ago" / "5分钟前", in the device's language. */
fun ago(at: Long, now: Long = System.currentTimeMillis()): String =
    DateUtils.getRelativeTimeSpanString(at, now, DateUtils.MINUTE_IN_MILLIS).toString()

fun dateTime(at: Long): String =
    java.text.DateFormat.getDateTimeInstance(java.text.DateFormat.SHORT, java.text.DateFormat.SHORT)
        .format(java.util.Date(at))
