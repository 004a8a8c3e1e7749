package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

class CredentialsTest {
    private val sealed = SealedSecret(ByteArray(12) { it.toByte() }, ByteArray(40) { (it * 7).toByte() })

    @Test
    fun sealedSecretRoundTrips() {
        assertEquals(sealed, SealedSecret.decode(sealed.encode()))
        assertNull(SealedSecret.decode(null))
        assertNull(SealedSecret.decode("plain-api-key"))
        assertNull(SealedSecret.decode("v1:AAAA:BBBB")) // IV of the wrong size
    }

    @Test
    fun plainKeysAreMigratedAndDropped() {
        assertEquals(CredentialAction.MIGRATE_PLAIN, CredentialDecisions.onLoad(plainKeyPresent = true, sealed = null))
        assertEquals(CredentialAction.USE_SEALED_DROP_PLAIN, CredentialDecisions.onLoad(true, sealed.encode()))
        assertEquals(CredentialAction.USE_SEALED, CredentialDecisions.onLoad(false, sealed.encode()))
        assertEquals(CredentialAction.NONE, CredentialDecisions.onLoad(false, null))
        assertEquals(CredentialAction.NONE, CredentialDecisions.onLoad(false, "v1:corrupt"))
    }
}
