package app.doorstep.android.ui

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.ImageDecoder
import android.net.Uri
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.Image
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import app.doorstep.android.R
import app.doorstep.core.DoorstepStore
import app.doorstep.core.Photo
import app.doorstep.state.io
import kotlinx.coroutines.launch
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.ByteBuffer

/**
 * The photos of the record being written (issue 21): the camera (the system camera app, full
 * resolution, through a file of the app's cache) and the Photo Picker (no storage permission).
 * The bytes go to the screen as a JPEG (other formats turned into one by [asJpeg]): the core
 * checks them, makes them small and keeps them encrypted; a wrong file shows the screen's problem. The thumbnails come from the store.
 */
@Composable
fun PhotoRow(
    store: DoorstepStore,
    photos: List<Photo>,
    onAdd: (ByteArray) -> Unit,
    onRemove: (String) -> Unit,
    readOnly: Boolean = false,
) {
    val context = LocalContext.current
    val scope = rememberCoroutineScope()
    var shot by remember { mutableStateOf<Uri?>(null) }
    val take = { uri: Uri? -> if (uri != null) scope.launch { io { read(context, uri)?.let(onAdd) } } }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok -> if (ok) take(shot) }
    val gallery = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri -> take(uri) }
    Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        photos.forEach { p -> Thumbnail(store, p, if (readOnly) null else { { onRemove(p.hash) } }) }
        if (!readOnly && photos.size < 10) {
            OutlinedButton(onClick = {
                val uri = cameraFile(context)
                shot = uri
                camera.launch(uri)
            }) { Text(stringResource(R.string.photo_camera)) }
            OutlinedButton(onClick = {
                gallery.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
            }) { Text(stringResource(R.string.photo_gallery)) }
        }
    }
}

@Composable
private fun Thumbnail(store: DoorstepStore, p: Photo, onRemove: (() -> Unit)?) {
    var img by remember(p.thumb) { mutableStateOf<ImageBitmap?>(null) }
    LaunchedEffect(p.thumb) {
        img = io { store.photoBytes(p.thumb) }?.let { b -> BitmapFactory.decodeByteArray(b, 0, b.size)?.asImageBitmap() }
    }
    Box {
        img?.let { Image(it, contentDescription = stringResource(R.string.photo), modifier = Modifier.size(72.dp)) }
        onRemove?.let { TextButton(onClick = it) { Text("×") } }
    }
}

/** A file of the app's cache for the camera app to write the picture to. */
private fun cameraFile(context: Context): Uri {
    val dir = File(context.cacheDir, "camera").apply { mkdirs() }
    val f = File(dir, "shot.jpg").apply { delete() }
    return FileProvider.getUriForFile(context, "${context.packageName}.camera", f)
}

/**
 * The picture's bytes as a JPEG (the camera's file is deleted once read: the store keeps its own
 * copy). The core takes JPEG only (issue 23: its library carries no other decoder); a gallery's
 * PNG, WebP, HEIC or AVIF is decoded by the platform, which reads every format the gallery
 * shows, at most 3,200 pixels a side (the core keeps 1,600), and handed over as a JPEG.
 */
private fun read(context: Context, uri: Uri): ByteArray? {
    val bytes = context.contentResolver.openInputStream(uri)?.use { it.readBytes() }
    if (uri.authority == "${context.packageName}.camera") File(File(context.cacheDir, "camera"), "shot.jpg").delete()
    return bytes?.let(::asJpeg)
}

private fun asJpeg(bytes: ByteArray): ByteArray {
    val jpeg = bytes.size > 3 && bytes[0] == 0xFF.toByte() && bytes[1] == 0xD8.toByte() && bytes[2] == 0xFF.toByte()
    if (jpeg) return bytes
    val bitmap = try {
        if (Build.VERSION.SDK_INT >= 28) {
            ImageDecoder.decodeBitmap(ImageDecoder.createSource(ByteBuffer.wrap(bytes))) { decoder, info, _ ->
                val side = maxOf(info.size.width, info.size.height)
                if (side > 3200) decoder.setTargetSize(info.size.width * 3200 / side, info.size.height * 3200 / side)
                decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
            }
        } else {
            BitmapFactory.decodeByteArray(bytes, 0, bytes.size)
        }
    } catch (e: Exception) {
        null
    } ?: return bytes // not a picture: the core says so, as for any other wrong file
    // JPEG has no transparency: a screenshot's clear parts are laid over white, as the gallery
    // shows them (compress would make them black).
    val flat = if (!bitmap.hasAlpha()) bitmap else {
        Bitmap.createBitmap(bitmap.width, bitmap.height, Bitmap.Config.ARGB_8888).also {
            Canvas(it).apply { drawColor(Color.WHITE); drawBitmap(bitmap, 0f, 0f, null) }
        }
    }
    val out = ByteArrayOutputStream()
    flat.compress(Bitmap.CompressFormat.JPEG, 95, out)
    if (flat !== bitmap) flat.recycle()
    bitmap.recycle()
    return out.toByteArray()
}
