package app.doorstep.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The store's 32-byte SQLCipher key, kept wrapped by an AES key that never leaves the Android
 * Keystore (hardware-backed where the phone has it). The wrapped key sits in the app's private
 * files; without the Keystore key of this phone and this app install it is useless, so a copied
 * file or a lost phone's flash chip gives nothing away.
 */
class DatabaseKey(private val context: Context) {
    private val wrappedFile: File get() = File(context.noBackupFilesDir, "doorstep.key")

    /** This phone's key: made once, at the first start, then unwrapped at every start. */
    fun get(): ByteArray {
        val f = wrappedFile
        if (f.exists()) return unwrap(f.readBytes())
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val tmp = File(f.path + ".tmp")
        tmp.writeBytes(wrap(key))
        tmp.renameTo(f)
        return key
    }

    /** Forgets the key (after a wipe): the next [get] makes a new one for a new store. */
    fun forget() {
        wrappedFile.delete()
        keystore().deleteEntry(ALIAS)
    }

    private fun keystore() = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun wrappingKey(): SecretKey {
        (keystore().getEntry(ALIAS, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build()
        )
        return gen.generateKey()
    }

    private fun wrap(key: ByteArray): ByteArray {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, wrappingKey())
        return c.iv + c.doFinal(key)
    }

    private fun unwrap(blob: ByteArray): ByteArray {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, blob.copyOfRange(0, 12)))
        return c.doFinal(blob.copyOfRange(12, blob.size))
    }

    private companion object {
        const val ALIAS = "doorstep-db-key"
    }
}
