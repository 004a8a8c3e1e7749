package app.shoebox.android.decisions

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class SchedulingTest {
    private val allPrefs = listOf(false, true).flatMap { w -> listOf(false, true).map { c -> BackupPrefs(w, c) } }

    @Test
    fun expeditedIsNeverCombinedWithBatteryChargingOrIdle() {
        var expeditedSeen = 0
        for (t in Trigger.entries) for (p in allPrefs) {
            val plan = BackupPlanner.oneTime(t, p)
            if (plan.expedited) {
                expeditedSeen++
                assertFalse("$t $p charging", plan.requiresCharging)
                assertFalse("$t $p battery not low", plan.requiresBatteryNotLow)
                assertFalse("$t $p idle", plan.requiresDeviceIdle)
            }
        }
        assertEquals("only the user's run is expedited, for every settings combination", allPrefs.size, expeditedSeen)
    }

    @Test
    fun userBackUpNowIsExpeditedForegroundAndReplacesAQueuedPass() {
        val plan = BackupPlanner.oneTime(Trigger.USER, BackupPrefs(wifiOnly = true, chargingOnly = true))
        assertTrue(plan.expedited)
        assertTrue(plan.foreground)
        assertEquals(UniquePolicy.REPLACE, plan.policy)
        // The user's pass and the trigger's pass share the unique name, so REPLACE really replaces it.
        assertEquals(BackupPlanner.oneTime(Trigger.NEW_MEDIA, BackupPrefs(true, true)).uniqueName, plan.uniqueName)
        assertEquals(NetworkRequirement.UNMETERED, plan.network)
        assertEquals(BackupPlanner.FOREGROUND_BUDGET_SECONDS, plan.budgetSeconds)
    }

    @Test
    fun backgroundPassesKeepAndFollowTheSettings() {
        val plan = BackupPlanner.oneTime(Trigger.NEW_MEDIA, BackupPrefs(wifiOnly = false, chargingOnly = true))
        assertEquals(UniquePolicy.KEEP, plan.policy)
        assertFalse(plan.expedited)
        assertFalse(plan.foreground)
        assertTrue(plan.requiresCharging)
        assertTrue(plan.requiresBatteryNotLow)
        assertEquals(NetworkRequirement.CONNECTED, plan.network)
        assertTrue(plan.budgetSeconds < 10 * 60)
    }

    @Test
    fun periodicUsesKeepOnStartAndUpdateOnSettingsChange() {
        val p = BackupPrefs(wifiOnly = true, chargingOnly = false)
        assertEquals(PeriodicPolicy.KEEP, BackupPlanner.periodic(p, settingsChanged = false).policy)
        assertEquals(PeriodicPolicy.UPDATE, BackupPlanner.periodic(p, settingsChanged = true).policy)
        assertEquals(NetworkRequirement.UNMETERED, BackupPlanner.periodic(p, false).network)
        assertTrue(BackupPlanner.periodic(BackupPrefs(false, true), false).requiresCharging)
    }

    @Test
    fun budgetFallsBackWhenForegroundWasRefused() {
        val plan = BackupPlanner.oneTime(Trigger.USER, BackupPrefs(false, false))
        assertEquals(BackupPlanner.FOREGROUND_BUDGET_SECONDS, BackupPlanner.budgetSeconds(plan, promotedToForeground = true))
        assertEquals(BackupPlanner.BACKGROUND_BUDGET_SECONDS, BackupPlanner.budgetSeconds(plan, promotedToForeground = false))
    }

    @Test
    fun triggerParsingDefaultsToABackgroundPass() {
        assertEquals(Trigger.USER, Trigger.parse("USER"))
        assertEquals(Trigger.NEW_MEDIA, Trigger.parse(null))
        assertEquals(Trigger.NEW_MEDIA, Trigger.parse("garbage"))
    }

    @Test
    fun contentTriggerJobIdIsOutsideWorkManagersConfiguredRange() {
        assertTrue(JobIds.outsideWorkManager(JobIds.CONTENT_TRIGGER, JobIds.WORK_MANAGER_MIN, JobIds.WORK_MANAGER_MAX))
        // WorkManager's default range (0..Int.MAX_VALUE) would contain it.
        assertFalse(JobIds.outsideWorkManager(JobIds.CONTENT_TRIGGER, 0, Int.MAX_VALUE))
        // WorkManager insists on a range of at least 1000 ids.
        assertTrue(JobIds.WORK_MANAGER_MAX - JobIds.WORK_MANAGER_MIN >= 1000)
    }

    @Test
    fun bootAndUpdateReRegisterTheContentTrigger() {
        for (e in listOf(AppEvent.BOOT, AppEvent.APP_UPDATED)) {
            val a = Rescheduler.actions(e, loggedIn = true, contentJobPending = false)
            assertTrue("$e", ScheduleAction.RegisterContentTrigger in a)
            assertTrue("$e", ScheduleAction.EnsurePeriodic(PeriodicPolicy.KEEP) in a)
            assertTrue("$e catches up on photos taken meanwhile", ScheduleAction.EnqueueOneTime(Trigger.NEW_MEDIA) in a)
        }
    }

    @Test
    fun appStartRegistersOnlyAMissingContentTrigger() {
        assertTrue(ScheduleAction.RegisterContentTrigger in Rescheduler.actions(AppEvent.APP_START, true, contentJobPending = false))
        assertFalse(ScheduleAction.RegisterContentTrigger in Rescheduler.actions(AppEvent.APP_START, true, contentJobPending = true))
        assertEquals(
            listOf(ScheduleAction.EnsurePeriodic(PeriodicPolicy.KEEP)),
            Rescheduler.actions(AppEvent.APP_START, true, contentJobPending = true),
        )
    }

    @Test
    fun settingsChangeUpdatesPeriodicAndFiredJobRearms() {
        assertTrue(ScheduleAction.EnsurePeriodic(PeriodicPolicy.UPDATE) in Rescheduler.actions(AppEvent.SETTINGS_CHANGED, true, true))
        val fired = Rescheduler.actions(AppEvent.CONTENT_JOB_FIRED, true, false)
        assertEquals(listOf(ScheduleAction.EnqueueOneTime(Trigger.NEW_MEDIA), ScheduleAction.RegisterContentTrigger), fired)
    }

    @Test
    fun nothingIsScheduledWhenLoggedOut() {
        for (e in AppEvent.entries.filter { it != AppEvent.LOGGED_OUT }) {
            assertEquals("$e", emptyList<ScheduleAction>(), Rescheduler.actions(e, loggedIn = false, contentJobPending = false))
        }
        assertEquals(listOf(ScheduleAction.CancelAll), Rescheduler.actions(AppEvent.LOGGED_OUT, true, true))
    }
}
