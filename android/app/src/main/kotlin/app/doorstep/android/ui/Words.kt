package app.doorstep.android.ui

import android.text.format.DateUtils
import androidx.compose.runtime.Composable
import androidx.compose.ui.res.stringResource
import app.doorstep.android.R
import app.doorstep.state.Problem

/** A problem in the person's language (values/ is zh-CN, values-en/ English). */
@Composable
fun problemText(p: Problem): String = when (p.kind) {
    Problem.Kind.OFFLINE -> stringResource(R.string.problem_offline)
    Problem.Kind.BAD_CODE -> stringResource(R.string.problem_bad_code)
    Problem.Kind.REVOKED -> stringResource(R.string.problem_revoked)
    Problem.Kind.NOT_ENROLLED -> stringResource(R.string.problem_not_enrolled)
    Problem.Kind.OUT_OF_SCOPE -> stringResource(R.string.problem_out_of_scope)
    Problem.Kind.RATE_LIMITED -> stringResource(R.string.problem_rate_limited)
    Problem.Kind.SERVER -> stringResource(R.string.problem_server, p.detail)
    Problem.Kind.INVALID -> when (p.field) {
        "server_url" -> stringResource(R.string.problem_need_server)
        "code" -> stringResource(R.string.problem_need_code)
        else -> stringResource(R.string.problem_invalid, p.detail)
    }
    Problem.Kind.NOT_ALLOWED -> stringResource(R.string.problem_not_allowed)
    Problem.Kind.NOT_FOUND -> stringResource(R.string.problem_not_found)
    Problem.Kind.WRONG_KEY -> stringResource(R.string.problem_wrong_key)
    Problem.Kind.STORAGE -> stringResource(R.string.problem_storage)
    Problem.Kind.INTERNAL -> stringResource(R.string.problem_internal)
}

/** "5 minutes ago" / "5分钟前", in the device's language. */
fun ago(at: Long, now: Long = System.currentTimeMillis()): String =
    DateUtils.getRelativeTimeSpanString(at, now, DateUtils.MINUTE_IN_MILLIS).toString()

fun dateTime(at: Long): String =
    java.text.DateFormat.getDateTimeInstance(java.text.DateFormat.SHORT, java.text.DateFormat.SHORT)
        .format(java.util.Date(at))
