package app.doorstep.android

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.runtime.mutableStateOf
import app.doorstep.android.ui.DoorstepApp
import app.doorstep.android.ui.StoreUnavailable
import app.doorstep.android.ui.DoorstepTheme

class MainActivity : ComponentActivity() {
    /** An enrollment link this activity was opened with (`doorstep://enroll?...`). */
    private val link = mutableStateOf<String?>(null)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        link.value = intent?.dataString
        val app = application as DoorstepApplication
        setContent {
            DoorstepTheme {
                val c = app.container
                if (c != null) DoorstepApp(c, link.value) { link.value = null } else app.problem?.let { StoreUnavailable(it) }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        link.value = intent.dataString
    }
}
