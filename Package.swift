// swift-tools-version:6.0
// bcsft: behavior-conditioned SFT toolkit (Metacognitive Reuse, arXiv 2509.13237).
//
// libtorch: Debian's CPU build under /usr by default. Point LIBTORCH at another libtorch folder
// (one holding include/ and lib/, e.g. a CUDA build) to build against it instead:
//   LIBTORCH=/opt/libtorch swift build -c release
import Foundation
import PackageDescription

let env = ProcessInfo.processInfo.environment
let libtorch = env["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }

// Include and link flags for the torch shim. With LIBTORCH set, its headers come first, its
// libraries are linked by full path (SwiftPM puts pkg-config's -L/usr/lib/... ahead of any
// target's flags, so -ltorch would find a system libtorch before LIBTORCH's), and an rpath
// makes the binaries find them without LD_LIBRARY_PATH.
let torchIncludes: [String] = libtorch.map {
    ["-I\($0)/include", "-I\($0)/include/torch/csrc/api/include"]
} ?? ["-I/usr/include/torch/csrc/api/include"]
// A CUDA libtorch keeps its kernels in libtorch_cuda, which nothing references by symbol:
// --no-as-needed keeps it linked so the CUDA backend registers itself at load time.
let torchLinking: [LinkerSetting] = libtorch.map { dir in
    var libs = ["torch", "torch_cpu", "c10"]
    if FileManager.default.fileExists(atPath: "\(dir)/lib/libtorch_cuda.so") { libs += ["torch_cuda", "c10_cuda"] }
    return [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "\(dir)/lib", "-Xlinker", "--no-as-needed"]
        + libs.flatMap { ["-Xlinker", "\(dir)/lib/lib\($0).so"] } + ["-Xlinker", "--as-needed"])]
} ?? [.linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10")]

// NCCL process groups (shim/torch/src/distributed.cpp) with a CUDA libtorch: its c10d headers
// need CUDA's runtime headers (the toolkit's) and nccl.h (pip's nvidia-nccl package or the system's).
// Without both, the shim builds without NCCL (single-GPU training needs none; `nccl` is then refused).
let ncclFlags: [String] = libtorch.map { dir in
    guard FileManager.default.fileExists(atPath: "\(dir)/lib/libtorch_cuda.so") else { return [] }
    let candidates = ["/usr/local/cuda/include", "\(dir)/../nvidia/nccl/include", "\(dir)/../nvidia/cu13/include", "/usr/include"]
    let found = ["cuda_runtime_api.h", "nccl.h"].compactMap { h in candidates.first { FileManager.default.fileExists(atPath: "\($0)/\(h)") } }
    return found.count == 2 ? ["-DCT_WITH_NCCL"] + Set(found).sorted().map { "-I\($0)" } : []
} ?? []

// oneDNN's sgemm for the shim's products (shim/torch/src/kernels/gemm.cpp) where its headers are
// installed (libdnnl-dev; scripts/setup installs it). BCSFT_ONEDNN=0 leaves it out, for a binary
// that must run where libdnnl is not installed (a pip libtorch keeps its oneDNN private).
let oneDNN = env["BCSFT_ONEDNN"] != "0" && FileManager.default.fileExists(atPath: "/usr/include/oneapi/dnnl/dnnl.h")

// Fuzzing (scripts/fuzz, `make fuzz`): with BCSFT_FUZZ=1 the package also has one libFuzzer
// executable per reader, built with --sanitize=fuzzer into a scratch path of its own. They have
// no main (libFuzzer's), so they exist only in that build.
let fuzzTargets = ["safetensors", "config", "records", "grader", "recipe", "http"]
let fuzzExecutables: [Target] = env["BCSFT_FUZZ"] == "1" ? fuzzTargets.map {
    .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/fuzz-\($0)",
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
} : []

let package = Package(
    name: "bcsft",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bcsft", targets: ["bcsft"]),
        .library(name: "BCSFT", targets: ["Settings", "Common", "Torch", "ChatTemplates", "Tokenizers", "Datasets", "Models", "Training", "Behaviors", "Teachers",
                                          "Evaluation", "World", "Pipelines", "Backends", "Recipes", "Stages"]),
        // SentencePiece lives in its own shared object, loaded at run time with
        // dlopen(RTLD_LOCAL|RTLD_DEEPBIND): its bundled protobuf-lite must never share a
        // symbol namespace with libtorch's protobuf (docs/design.md, trap 1). Nothing imports it.
        .library(name: "SentencePieceShim", type: .dynamic, targets: ["CSentencePiece"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
    ],
    targets: [
        // C API over libtorch (shim/torch/include/ctorch.h).
        .target(
            name: "CTorch",
            path: "shim/torch",
            sources: ["src"],
            publicHeadersPath: "include",
            cxxSettings: [.unsafeFlags(torchIncludes + ["-O2", "-Wno-deprecated-declarations"] + (oneDNN ? ["-DCT_WITH_ONEDNN"] : []) + ncclFlags)],
            linkerSettings: torchLinking + [
                // the OpenMP runtime libtorch and oneDNN share (the shim sets its team size)
                .linkedLibrary("gomp"),
            ] + (oneDNN ? [.linkedLibrary("dnnl")] : [])
        ),
        // The SentencePiece shim's C API (shim/sentencepiece/include/cspm.h) as a header-only
        // module: no sources, no symbols, no linker settings. Tokenizers imports it for the type of
        // the function table it gets through dlsym, so the compiler checks every call, and links
        // nothing of SentencePiece (docs/design.md, trap 1).
        .target(name: "CSentencePieceAPI", path: "shim/sentencepiece/include", publicHeadersPath: "."),
        // C API over libsentencepiece (the same cspm.h); only ever dlopen'ed. The version script
        // leaves cspm_get_api its one exported symbol.
        .target(
            name: "CSentencePiece",
            path: "shim/sentencepiece",
            sources: ["src"],
            publicHeadersPath: "include",
            cxxSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [
                .linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train"),
                .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/shim/sentencepiece/exports.map"]),
            ]
        ),
        // The one config system: settings values, YAML with file:line, --set, the decoder every
        // step's settings go through, and the sampling settings every step shares.
        .target(name: "Settings", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Foundation-only helpers shared by several modules: JSON Lines, folders that appear
        // whole, SplitMix64, the metrics-line record.
        .target(name: "Common"),
        .target(name: "Torch", dependencies: ["CTorch"]),
        // Hugging Face chat templates: a Jinja interpreter for their subset, and loading them
        // from a model folder. Foundation only (no libtorch).
        .target(name: "ChatTemplates"),
        .target(name: "Tokenizers", dependencies: ["CSentencePieceAPI", "Common", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Datasets", dependencies: ["ChatTemplates", "Tokenizers", "Common", "Settings", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Models", dependencies: ["Torch", "Common", "Settings", .product(name: "Crypto", package: "swift-crypto")]),
        // The system SQLite (libsqlite3-dev) for the teachers' response cache.
        .systemLibrary(name: "CSQLite", path: "shim/sqlite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Teachers", dependencies: ["CSQLite", "Settings", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Behaviors", dependencies: ["Common", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Training", dependencies: ["Torch", "Models", "Datasets", "Common", "Settings"]),
        // Grading answers, metrics over eval samples, and reports (no libtorch).
        .target(name: "Evaluation", dependencies: ["Common", "Settings", .product(name: "BigInt", package: "BigInt")]),
        // The method's steps over any LanguageModel, and their settings; no libtorch, no scripted world.
        .target(name: "Pipelines", dependencies: ["Teachers", "Behaviors", "Evaluation", "Common", "Settings",
                                                  .product(name: "Crypto", package: "swift-crypto")]),
        // The SCRIPTED offline world: procedural problems and a scripted teacher/strategist.
        .target(name: "World", dependencies: ["Teachers", "Common", "Settings"]),
        // The models a `backend` setting names: the in-process student (libtorch), the scripted
        // world, a server; and `bcsft doctor`'s checks of the parts they run on.
        .target(name: "Backends", dependencies: ["Pipelines", "Teachers", "World", "Models", "Training", "Tokenizers", "Datasets", "Torch", "Settings"]),
        // Recipes: YAML experiments run as stages with a content-hash cache; stage kinds are registered by the caller.
        .target(name: "Recipes", dependencies: ["Settings", "Common", .product(name: "Crypto", package: "swift-crypto")]),
        // The stage kinds of bcsft's recipes: each pipeline step as a cached, resumable stage.
        .target(name: "Stages", dependencies: ["Recipes", "Pipelines", "Backends", "World", "Training", "Datasets", "Tokenizers", "Torch", "Behaviors",
                                               "Evaluation", "Teachers", "Common", "Settings", "Models"]),
        .executableTarget(
            name: "bcsft",
            dependencies: ["Settings", "Common", "Torch", "Tokenizers", "Datasets", "Models", "Training", "Pipelines", "Backends", "Teachers", "Behaviors",
                           "World", "Recipes", "Stages", "Evaluation", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Benchmarks (evaluation/): timed workloads the drivers set beside their baselines.
        .executableTarget(name: "bcsft-bench", dependencies: ["Torch", "Models", "Datasets", "Settings", "Tokenizers"], path: "evaluation/Sources/bcsft-bench"),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], resources: [.copy("Fixtures")]),
        // Helpers shared by the test targets (temporary folders, running the bcsft binary).
        .target(name: "TestSupport", dependencies: ["ChatTemplates", "Tokenizers", "Datasets"], path: "Tests/TestSupport"),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "TestSupport"]),
        .testTarget(name: "TeachersTests", dependencies: ["Teachers", "Settings", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "WorldTests", dependencies: ["World", "Teachers", "Behaviors", "Settings"]),
        // Builds and runs without libtorch: the pipelines over the scripted world and servers.
        .testTarget(name: "PipelinesTests", dependencies: ["Pipelines", "World", "Teachers", "Behaviors", "Evaluation", "Common", "Settings", "TestSupport",
                                                        .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Fixtures"]),
        .testTarget(name: "BackendsTests", dependencies: ["Backends", "Pipelines", "World", "Teachers", "Evaluation", "Models", "Torch", "Common", "Settings", "TestSupport",
                                                       "Datasets", "ChatTemplates"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Recipes", "Pipelines", "Datasets", "Evaluation", "Training", "World", "Models", "Torch", "Settings",
                                                     "Tokenizers", "TestSupport"]),
        .testTarget(name: "BehaviorsTests", dependencies: ["Behaviors", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Common", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Datasets", "Tokenizers", "Torch", "Common", "Settings", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Datasets", "Tokenizers", "Torch", "Settings", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ChatTemplates", "Tokenizers", "Common", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "Settings", "TestSupport"]),
        .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Torch", "TestSupport"], resources: [.copy("Fixtures")]),
        // The readers bcsft points at untrusted bytes, as functions for the fuzzers and for the
        // test that replays every fuzz corpus file.
        .target(name: "FuzzTargets", dependencies: ["Models", "Datasets", "Evaluation", "Pipelines", "Recipes", "Settings", "Teachers", "Training", "Common"],
                path: "Tests/Fuzz/FuzzTargets"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "TestSupport"], path: "Tests/Fuzz/FuzzTests"),
    ] + fuzzExecutables,
    cxxLanguageStandard: .cxx17
)
