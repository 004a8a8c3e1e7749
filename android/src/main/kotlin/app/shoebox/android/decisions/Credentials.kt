package app.shoebox.android.decisions

/**
 * The API key at rest: AES-256-GCM under a non-exportable key in AndroidKeyStore
 * (`KeystoreSecrets`), stored as one [SealedSecret] in private SharedPreferences. This file holds
 * the format and the decisions; the cipher lives in the Android class.
 */
data class SealedSecret(val iv: ByteArray, val ciphertext: ByteArray) {
    /** `v1:<base64 iv>:<base64 ciphertext+tag>` */
    fun encode(): String {
        val b = java.util.Base64.getEncoder()
        return "$VERSION:${b.encodeToString(iv)}:${b.encodeToString(ciphertext)}"
    }

    override fun equals(other: Any?) =
        other is SealedSecret && iv.contentEquals(other.iv) && ciphertext.contentEquals(other.ciphertext)

    override fun hashCode() = 31 * iv.contentHashCode() + ciphertext.contentHashCode()

    companion object {
        const val VERSION = "v1"

        /** GCM IVs are 12 bytes; the tag makes the ciphertext at least 16 bytes. */
        fun decode(s: String?): SealedSecret? {
            val parts = s?.split(':') ?: return null
            if (parts.size != 3 || parts[0] != VERSION) return null
            val d = java.util.Base64.getDecoder()
            val iv = runCatching { d.decode(parts[1]) }.getOrNull() ?: return null
            val ct = runCatching { d.decode(parts[2]) }.getOrNull() ?: return null
            if (iv.size != 12 || ct.size < 16) return null
            return SealedSecret(iv, ct)
        }
    }
}

enum class CredentialAction {
    /** Nothing stored: not logged in. */
    NONE,

    /** Decrypt the sealed key. */
    USE_SEALED,

    /** An older version left the key in plain text: seal it, then delete the plain copy. */
    MIGRATE_PLAIN,

    /** Both exist (a migration was interrupted after sealing): use the sealed one, delete the plain one. */
    USE_SEALED_DROP_PLAIN,
}

object CredentialDecisions {
    fun onLoad(plainKeyPresent: Boolean, sealed: String?): CredentialAction {
        val hasSealed = SealedSecret.decode(sealed) != null
        return when {
            hasSealed && plainKeyPresent -> CredentialAction.USE_SEALED_DROP_PLAIN
            hasSealed -> CredentialAction.USE_SEALED
            plainKeyPresent -> CredentialAction.MIGRATE_PLAIN
            else -> CredentialAction.NONE
        }
    }

    /**
     * Decryption failed (the Keystore key is gone: a restore onto a new phone, "clear
     * credentials", `KeyPermanentlyInvalidatedException`): forget the stored key, and the app
     * asks the user to log in again. Never crash a background worker over it.
     */
    const val ON_DECRYPT_FAILURE_FORGET = true
}
