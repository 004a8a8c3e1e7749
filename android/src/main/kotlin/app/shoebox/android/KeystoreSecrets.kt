package app.shoebox.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import app.shoebox.android.decisions.SealedSecret
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * AES-256-GCM with a key that lives in AndroidKeyStore (hardware-backed where the phone has it;
 * never exportable). No user authentication is required, because background workers decrypt the
 * API key while the phone is locked. The stored format is [SealedSecret].
 * (EncryptedSharedPreferences is deprecated; this is the same construction without the dependency.)
 */
internal class KeystoreSecrets(private val alias: String = "app.shoebox.api-key") {
    private fun keyStore() = KeyStore.getInstance(PROVIDER).apply { load(null) }

    private fun key(): SecretKey {
        (keyStore().getKey(alias, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return gen.generateKey()
    }

    fun seal(plain: String): SealedSecret {
        val c = Cipher.getInstance(TRANSFORMATION)
        c.init(Cipher.ENCRYPT_MODE, key()) // the Keystore picks a fresh random IV
        return SealedSecret(c.iv, c.doFinal(plain.toByteArray(Charsets.UTF_8)))
    }

    /** Throws when the Keystore key is gone or the blob was tampered with. */
    fun open(sealed: SealedSecret): String {
        val c = Cipher.getInstance(TRANSFORMATION)
        c.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, sealed.iv))
        return String(c.doFinal(sealed.ciphertext), Charsets.UTF_8)
    }

    fun forget() {
        runCatching { keyStore().deleteEntry(alias) }
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
    }
}
