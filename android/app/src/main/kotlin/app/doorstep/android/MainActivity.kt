package app.doorstep.android

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.runtime.mutableStateOf
import app.doorstep.android.ui.DoorstepApp
import app.doorstep.android.ui.StoreUnavailable
import app.doorstep.android.ui.DoorstepTheme
import app.doorstep.state.Outcome

class MainActivity : ComponentActivity() {
    /** An enrollment link this activity was opened with (`doorstep://enroll?...`). */
    private val link = mutableStateOf<String?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        link.value = intent?.dataString
        val opened = (application as DoorstepApplication).opened
        setContent {
            DoorstepTheme {
                when (opened) {
                    is Outcome.Ok -> DoorstepApp(opened.value, link.value) { link.value = null }
                    is Outcome.Failed -> StoreUnavailable(opened.problem)
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        link.value = intent.dataString
    }
}
