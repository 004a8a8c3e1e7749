// swift-tools-version:5.9
// Shoebox for iOS: the Rust core as an XCFramework (binary target, built by
// build-xcframework.sh on macOS), the uniffi-generated Swift (Sources/ShoeboxCore, copied in by
// the same script), and the platform glue (Sources/ShoeboxKit: PhotoKit library, BGTaskScheduler,
// NWPathMonitor + battery). NOT compiled on the Linux build machine — see README.md.
import PackageDescription

let package = Package(
    name: "Shoebox",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "ShoeboxKit", targets: ["ShoeboxKit"]),
        .library(name: "ShoeboxCore", targets: ["ShoeboxCore"]),
    ],
    targets: [
        // Static libshoebox_ffi.a for aarch64-apple-ios and the simulators, with the C header
        // and module.modulemap of the `ShoeboxCoreFFI` Clang module.
        .binaryTarget(name: "ShoeboxCoreFFI", path: "ShoeboxCoreFFI.xcframework"),
        // uniffi-generated ShoeboxCore.swift (the Swift API of the Rust core).
        .target(
            name: "ShoeboxCore",
            dependencies: ["ShoeboxCoreFFI"],
            path: "Sources/ShoeboxCore",
            linkerSettings: [.linkedFramework("SystemConfiguration"), .linkedFramework("Security")]
        ),
        .target(
            name: "ShoeboxKit",
            dependencies: ["ShoeboxCore"],
            path: "Sources/ShoeboxKit",
            linkerSettings: [.linkedFramework("Photos"), .linkedFramework("BackgroundTasks"), .linkedFramework("Network")]
        ),
    ]
)
