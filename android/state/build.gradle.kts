// The adapter of the shared screens to StateFlow: plain Kotlin (no Android imports), over the generated bindings.
// Tested here and on CI by scripts/test.sh on the JVM against the real Rust library; on a
// developer's machine `gradle -p android :state:stateTest` runs the same test.
import org.gradle.api.tasks.Exec

plugins {
    id("org.jetbrains.kotlin.jvm")
}

val repo = rootDir.parentFile
val generatedBindings = layout.buildDirectory.dir("generated/uniffi")
val hostLib = repo.resolve("target/debug/" + System.mapLibraryName("doorstep_ffi"))

/** Builds the core for this computer (for the bindings' metadata and the JVM test). */
val cargoBuildHost by tasks.registering(Exec::class) {
    workingDir = repo
    commandLine("cargo", "build", "-p", "doorstep-ffi", "-p", "doorstep-bindgen")
}

/** Generates the Kotlin bindings from the built library (uniffi library mode). */
val generateBindings by tasks.registering(Exec::class) {
    dependsOn(cargoBuildHost)
    workingDir = repo
    outputs.dir(generatedBindings)
    commandLine(
        repo.resolve("target/debug/uniffi-bindgen").path, "generate",
        "--library", hostLib.path, "--language", "kotlin", "--no-format",
        "--out-dir", generatedBindings.get().asFile.path,
    )
}

kotlin {
    jvmToolchain(17)
    sourceSets["main"].kotlin.srcDir(generatedBindings)
    // The JVM tests' shared harness (check, expect, finish).
    sourceSets["test"].kotlin.srcDir(repo.resolve("bindings/tests/kotlin/harness"))
}

tasks.named("compileKotlin") { dependsOn(generateBindings) }

dependencies {
    // The JVM's JNA for the test; the app brings the Android build of JNA (an .aar) instead.
    compileOnly("net.java.dev.jna:jna:5.15.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    testImplementation("net.java.dev.jna:jna:5.15.0")
}

/** The adapter's test: needs a running server and enrollment codes (scripts/test.sh). */
val stateTest by tasks.registering(JavaExec::class) {
    dependsOn("testClasses")
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("app.doorstep.state.StateTestKt")
    jvmArgs("-Djna.library.path=" + hostLib.parentFile.path)
}
