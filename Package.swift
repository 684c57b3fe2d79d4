// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "swift-cross-entropy",
  products: [
    .library(name: "CrossEntropy", targets: ["CrossEntropy"]),
    .library(name: "CrossEntropyDistributed", targets: ["CrossEntropyDistributed"]),
    .executable(name: "xent", targets: ["xent"]),
    // Derivatives of the losses for Swift's `_Differentiation`; empty without the trait.
    .library(name: "CrossEntropyDifferentiation", targets: ["CrossEntropyDifferentiation"]),
  ],
  traits: [
    .trait(
      name: "Differentiation",
      description: "Registers derivatives of the losses for Swift's `_Differentiation` module"
        + " (CrossEntropyDifferentiation); needs a toolchain that ships that module."),
    .trait(
      name: "MPI",
      description: "MPICommunicator over Open MPI (pkg-config ompi) and xent's --vocab-parallel."),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
  ],
  targets: [
    // MARK: - Public API

    .target(
      name: "CrossEntropy",
      dependencies: [
        "CrossEntropyCPU", "CrossEntropyGEMMKernels",
        .product(name: "RealModule", package: "swift-numerics"),
      ],
      exclude: ["Kernels/README.md"],
      // The kernels' vector arithmetic as single LLVM vector operations
      // (Kernels/SIMD/VectorOperations.swift).
      swiftSettings: [.enableExperimentalFeature("BuiltinModule")]
    ),
    // Vocabulary- and data-parallel losses over a `Communicator` (threads; MPI with the trait).
    .target(
      name: "CrossEntropyDistributed",
      dependencies: [
        "CrossEntropy", .product(name: "RealModule", package: "swift-numerics"),
        .target(name: "CMPI", condition: .when(traits: ["MPI"])),
      ]
    ),
    // Open MPI's C API, only with the trait `MPI` (`swift build --traits MPI`).
    .systemLibrary(name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
    .executableTarget(
      name: "xent",
      dependencies: [
        "CrossEntropy",
        "CrossEntropyCPU",
        .target(name: "CrossEntropyDistributed", condition: .when(traits: ["MPI"])),
        "DemoSupport",
        "DigitsDemo",
        "LanguageModelDemo",
        "NumPyIO",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // Derivatives of the losses (`@derivative(of:)`), compiled only with the trait
    // `Differentiation` (its sources are inside `#if Differentiation`).
    .target(name: "CrossEntropyDifferentiation", dependencies: ["CrossEntropy"]),

    // MARK: - Implementation details

    // Compile-time facts about the target CPU (FMA, F16C) for the kernels; no stable API.
    .target(name: "CrossEntropyCPU"),
    // The GEMM's register micro-kernels in C, one per instruction set, picked at run time.
    .target(name: "CrossEntropyGEMMKernels"),
    // The `.npy` reader and writer of `xent`.
    .target(name: "NumPyIO"),
    // What both demos share: the seeded generator, Adam, the SVG writer, the error type.
    .target(name: "DemoSupport"),
    // The digits demo of `xent demo`, with its bundled data set.
    .target(
      name: "DigitsDemo",
      dependencies: ["CrossEntropy", "DemoSupport"],
      resources: [.copy("Resources/digits.bin"), .copy("Resources/LICENSE-digits.md")]
    ),
    // The language-model demo of `xent demo lm`, with its bundled Shakespeare plays.
    .target(
      name: "LanguageModelDemo",
      dependencies: ["CrossEntropy", "DemoSupport"],
      resources: [.copy("Resources")]
    ),

    // MARK: - Tests

    // Helpers shared by the test targets (a seeded generator, closeness checks); not API.
    .target(name: "_CrossEntropyTestSupport", path: "Tests/_CrossEntropyTestSupport"),
    .testTarget(
      name: "CrossEntropyTests", dependencies: ["CrossEntropy", "_CrossEntropyTestSupport"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "DigitsDemoTests",
      dependencies: ["DigitsDemo", "DemoSupport", "CrossEntropy", "_CrossEntropyTestSupport"]),
    .testTarget(
      name: "LanguageModelDemoTests",
      dependencies: [
        "LanguageModelDemo", "DemoSupport", "CrossEntropy", "_CrossEntropyTestSupport",
      ]),
    .testTarget(
      name: "xentTests", dependencies: ["xent", "NumPyIO", "CrossEntropy"], exclude: ["Fixtures"]),
    .testTarget(
      name: "CrossEntropyDistributedTests",
      dependencies: ["CrossEntropyDistributed", "CrossEntropy", "_CrossEntropyTestSupport"]),
    // The distributed losses over MPI, for `mpirun -np P` (.ci/run); a stub without the trait.
    .executableTarget(
      name: "CrossEntropyMPIChecks",
      dependencies: ["CrossEntropy", "CrossEntropyDistributed", "NumPyIO"],
      path: "Tests/CrossEntropyMPIChecks"),
    .testTarget(name: "NumPyIOTests", dependencies: ["NumPyIO"], exclude: ["Fixtures"]),
    .testTarget(
      name: "CrossEntropyDifferentiationTests",
      dependencies: ["CrossEntropyDifferentiation", "CrossEntropy", "_CrossEntropyTestSupport"]),
  ]
)
