// swift-tools-version:5.9
// DoorstepKit: the Rust core (an XCFramework built by build-xcframework.sh) and its generated
// Swift bindings, as one package the SwiftUI app depends on.
import PackageDescription

let package = Package(
    name: "DoorstepKit",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "DoorstepCore", targets: ["DoorstepCore"]),
    ],
    targets: [
        .binaryTarget(name: "DoorstepCoreFFI", path: "build/DoorstepCoreFFI.xcframework"),
        .target(
            name: "DoorstepCore",
            dependencies: ["DoorstepCoreFFI"],
            path: "Sources/DoorstepCore"
        ),
    ]
)
