package app.doorstep.android.ui

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Typography
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.text.TextStyle
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.sp

private val Colors = lightColorScheme(
    primary = Color(0xFFB3261E),      // 中国红, the community offices' colour
    secondary = Color(0xFF6D5E0F),
    error = Color(0xFFBA1A1A),
)

@Composable
fun DoorstepTheme(content: @Composable () -> Unit) {
    MaterialTheme(colorScheme = Colors, typography = Typography(), content = content)
}

/** Large type for the liaison leads' list: many are retired volunteers reading without glasses. */
object LargeType {
    val title = TextStyle(fontSize = 26.sp, fontWeight = FontWeight.Bold, lineHeight = 32.sp)
    val body = TextStyle(fontSize = 22.sp, lineHeight = 30.sp)
    val button = TextStyle(fontSize = 24.sp, fontWeight = FontWeight.Bold)
}

val Overdue = Color(0xFFBA1A1A)
val DueSoon = Color(0xFFB26A00)
