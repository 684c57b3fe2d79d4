// swift-tools-version: 6.1
// Benchmarks for swift-cross-entropy, kept in a package of their own so that the library's
// dependency graph stays free of the benchmark tooling. Run from the repository root:
//
//   Scripts/run_benchmarks.sh            (or: swift package --package-path Benchmarks benchmark)
import PackageDescription

// SwiftPM names a path dependency after its folder (`swift-cross-entropy` in a plain clone, but
// any name in a worktree or a renamed checkout), so the root package is referred to by that name.
let root =
  Context.packageDirectory.split(separator: "/").dropLast().last.map { $0.lowercased() }
  ?? "swift-cross-entropy"

let package = Package(
  name: "swift-cross-entropy-benchmarks",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(path: ".."),
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .target(
      name: "BenchmarkData",
      dependencies: [.product(name: "Benchmark", package: "benchmark")]
    ),
    .executableTarget(
      name: "CrossEntropyBenchmarks",
      dependencies: [
        "BenchmarkData",
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "CrossEntropy", package: root),
      ],
      path: "Benchmarks/CrossEntropyBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "LossBenchmarks",
      dependencies: [
        "BenchmarkData",
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "CrossEntropy", package: root),
      ],
      path: "Benchmarks/LossBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ]
)
