// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "swift-cross-entropy",
  products: [
    .library(name: "CrossEntropy", targets: ["CrossEntropy"]),
    .executable(name: "xent", targets: ["xent"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
  ],
  targets: [
    .target(
      name: "CrossEntropy",
      dependencies: [
        "CrossEntropyCPU", .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),
    .target(name: "CrossEntropyCPU"),
    .target(name: "NumPyIO"),
    .target(
      name: "DigitsDemo",
      dependencies: ["CrossEntropy"],
      resources: [.copy("Resources/digits.bin"), .copy("Resources/LICENSE-digits.md")]
    ),
    .executableTarget(
      name: "xent",
      dependencies: [
        "CrossEntropy",
        "CrossEntropyCPU",
        "DigitsDemo",
        "NumPyIO",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(
      name: "CrossEntropyTests", dependencies: ["CrossEntropy"], exclude: ["Fixtures"]),
    .testTarget(name: "DigitsDemoTests", dependencies: ["DigitsDemo", "CrossEntropy"]),
    .testTarget(
      name: "xentTests", dependencies: ["xent", "NumPyIO", "CrossEntropy"], exclude: ["Fixtures"]),
  ]
)
