// Standalone build of the Shoebox Android library. An app can also include it as a module:
//   include(":shoebox"); project(":shoebox").projectDir = file("<clone>/android")
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google() // androidx.work, androidx.core: Google's Maven only
        mavenCentral()
    }
}
rootProject.name = "shoebox-android"
