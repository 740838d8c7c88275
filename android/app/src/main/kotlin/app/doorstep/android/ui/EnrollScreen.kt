package app.doorstep.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardCapitalization
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.doorstep.android.R
import app.doorstep.core.*
import app.doorstep.state.Observed
import app.doorstep.state.io
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.codescanner.GmsBarcodeScannerOptions
import com.google.mlkit.vision.codescanner.GmsBarcodeScanning
import kotlinx.coroutines.launch

/** Enrollment: scan the administrator's QR code, or type the server and the code. */
@Composable
fun EnrollScreen(m: Observed<EnrollmentScreen, EnrollmentView>, link: String?, onLinkUsed: () -> Unit, onEnrolled: (Enrollment) -> Unit) {
    val s by m.state.collectAsState()
    val model = m.screen
    val scope = rememberCoroutineScope()
    val context = LocalContext.current
    LaunchedEffect(link) {
        if (link != null) { onLinkUsed(); io { model.scanned(link) } }
    }
    LaunchedEffect(s.enrolled) { s.enrolled?.let(onEnrolled) }
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp),
    ) {
        Text(stringResource(R.string.enroll_title), style = MaterialTheme.typography.headlineMedium)
        Text(stringResource(R.string.enroll_hint), style = MaterialTheme.typography.bodyLarge)
        Button(
            onClick = {
                val options = GmsBarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build()
                GmsBarcodeScanning.getClient(context, options).startScan()
                    .addOnSuccessListener { code -> code.rawValue?.let { scope.launch { io { model.scanned(it) } } } }
            },
            enabled = !s.busy,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(stringResource(R.string.enroll_scan)) }
        OutlinedTextField(
            value = s.serverUrl,
            onValueChange = model::setServerUrl,
            label = { Text(stringResource(R.string.enroll_server)) },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = s.code,
            onValueChange = model::setCode,
            label = { Text(stringResource(R.string.enroll_code)) },
            keyboardOptions = KeyboardOptions(capitalization = KeyboardCapitalization.Characters),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        s.problem?.let { Text(problemText(it), color = MaterialTheme.colorScheme.error) }
        OutlinedButton(
            onClick = { scope.launch { io { model.submit() } } },
            enabled = !s.busy,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(stringResource(if (s.busy) R.string.enroll_busy else R.string.enroll_submit)) }
    }
}
