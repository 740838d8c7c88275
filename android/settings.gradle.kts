// Doorstep's Android shell. Needs the Android SDK (API 35), the NDK (r27 or later), Rust with the
// Android targets, and cargo-ndk; see docs/mobile.md. One command builds everything:
//     gradle -p android :app:assembleDebug
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
        google()
        mavenCentral()
    }
}
rootProject.name = "doorstep"
include(":state", ":app")
