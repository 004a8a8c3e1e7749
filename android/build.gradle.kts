// Android library packaging shoebox-ffi: the Rust .so for arm64-v8a, armeabi-v7a and x86_64
// (built with cargo-ndk), the uniffi-generated Kotlin bindings, and the platform glue in
// src/main/kotlin. Written for the user's Gradle build; NOT compiled here (no Android SDK,
// no Google Maven on the build machine) — see README.md.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

val repoRoot: File = rootDir.parentFile
val cargoProfile: String = (findProperty("shoebox.cargoProfile") as String?) ?: "release"
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val jniOut = layout.buildDirectory.dir("rust/jniLibs")
val bindingsOut = layout.buildDirectory.dir("generated/uniffi/kotlin")

android {
    namespace = "app.shoebox.android"
    compileSdk = 35
    ndkVersion = "28.0.13004108" // r28+: 16 KB page-aligned .so by default (required on Play)

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += abis }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    sourceSets["main"].apply {
        jniLibs.srcDir(jniOut)
        kotlin.srcDir(bindingsOut)
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // JNA must be the AAR on Android (it carries libjnidispatch.so per ABI), the jar on a JVM.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.annotation:annotation:1.9.1") // imported by the android flavour of the bindings
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
}

// cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o build/rust/jniLibs build --release -p shoebox-ffi
val cargoNdk by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libshoebox_ffi.so for $abis with cargo-ndk"
    workingDir = repoRoot
    val args = mutableListOf("cargo", "ndk", "--platform", "26")
    abis.forEach { args += listOf("-t", it) }
    args += listOf("-o", jniOut.get().asFile.path, "build", "-p", "shoebox-ffi")
    if (cargoProfile == "release") args += "--release"
    commandLine(args)
    inputs.dir(File(repoRoot, "core/src"))
    inputs.dir(File(repoRoot, "bindings/src"))
    inputs.file(File(repoRoot, "Cargo.lock"))
    outputs.dir(jniOut)
}

// Kotlin sources from the arm64 library (the generated code is the same for every ABI).
val uniffiBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings (android flavour: bindings/uniffi.toml)"
    dependsOn(cargoNdk)
    workingDir = repoRoot
    val lib = jniOut.get().file("arm64-v8a/libshoebox_ffi.so").asFile
    commandLine(
        "cargo", "run", "-q", "-p", "uniffi-bindgen", "--", "generate", lib.path,
        "--language", "kotlin", "--out-dir", bindingsOut.get().asFile.path, "--no-format",
    )
    inputs.file(lib)
    inputs.file(File(repoRoot, "bindings/uniffi.toml"))
    outputs.dir(bindingsOut)
}

tasks.named("preBuild") { dependsOn(uniffiBindings) }
