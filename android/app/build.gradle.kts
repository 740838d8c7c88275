import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repo = rootDir.parentFile
val jniLibs = layout.buildDirectory.dir("generated/jniLibs")

/**
 * Builds the Rust core for the phone ABIs with cargo-ndk (the `phone` profile: size-optimised,
 * fat LTO, one codegen unit; OpenSSL built from source for SQLCipher) into the app's jniLibs.
 * The libraries keep their line tables: the Android Gradle plugin strips what ships and keeps
 * the symbols in native-debug-symbols.zip for crash symbolication (ndk.debugSymbolLevel).
 * Needs ANDROID_NDK_HOME (or the SDK's ndk/),
 * `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android` and
 * `cargo install cargo-ndk`.
 */
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repo
    // SQLCipher without what the store never uses (see scripts/phone_size.sh).
    environment("LIBSQLITE3_FLAGS", repo.resolve("bindings/sqlite-phone.flags").readText().trim())
    // The C code without unwind tables (nothing unwinds through it; scripts/phone_size.sh).
    environment("CFLAGS", repo.resolve("bindings/c-phone.flags").readText().trim())
    outputs.dir(jniLibs)
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "--platform", "26",
        "-o", jniLibs.get().asFile.path,
        "build", "--profile", "phone", "-p", "doorstep-ffi", "--features", "vendored-openssl,phone-size",
    )
}

android {
    namespace = "app.doorstep.android"
    compileSdk = 35

    defaultConfig {
        applicationId = "app.doorstep.android"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The Rust library's symbols, split off the shipped .so, for Play's crash reports.
        ndk { debugSymbolLevel = "FULL" }
    }

    buildFeatures { compose = true }

    sourceSets["main"].jniLibs.srcDir(jniLibs)

    // zh-CN is the default language of the resources (values/), English the second (values-en/).
    androidResources { localeFilters += listOf("zh-rCN", "en") }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

tasks.named("preBuild") { dependsOn(cargoNdk) }

dependencies {
    implementation(project(":state"))
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")

    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.ui:ui")
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.material:material-icons-extended")
    implementation("androidx.activity:activity-compose:1.9.3")
    // FileProvider: the camera app writes a photo to the app's cache (issue 21).
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")
    implementation("androidx.navigation:navigation-compose:2.8.5")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    // QR codes: the ML Kit code scanner (Google Play services' own scanner UI, no camera code).
    implementation("com.google.android.gms:play-services-code-scanner:16.1.0")
}
