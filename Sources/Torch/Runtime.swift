import CTorch
import Foundation

/// Process-wide libtorch information and settings.
public enum Runtime {
    /// libtorch's version, e.g. "1.13.0".
    public static var torchVersion: String { (try? shimString { ct_torch_version($0, $1, $2) }) ?? "unknown" }

    /// libtorch's build configuration (BLAS, OpenMP, CUDA, ...).
    public static var buildConfig: String { (try? shimString { ct_build_config($0, $1, $2) }) ?? "" }

    /// The library serving BLAS calls (and OpenBLAS's config string where it is OpenBLAS).
    public static var blas: String { (try? shimString { ct_blas_info($0, $1, $2) }) ?? "unknown" }

    /// Whether this libtorch was built with CUDA (whether or not a GPU is visible now).
    public static var cudaBuilt: Bool { buildConfig.contains("USE_CUDA=ON") }

    /// A CUDA build with a visible GPU.
    public static var cudaAvailable: Bool {
        var v = false
        return ct_cuda_is_available(&v) == CT_OK && v
    }

    public static var cudaDeviceCount: Int {
        var n: Int32 = 0
        return ct_cuda_device_count(&n) == CT_OK ? Int(n) : 0
    }

    /// torch intra-op threads.
    public static var threads: Int {
        var n: Int32 = 0
        _ = ct_get_num_threads(&n)
        return Int(n)
    }

    public static func setThreads(_ n: Int) throws { try check(ct_set_num_threads(Int32(n))) }

    /// OpenBLAS threads, nil when the BLAS in use is not OpenBLAS.
    public static var blasThreads: Int? {
        var n: Int32 = 0
        return ct_get_blas_threads(&n) == CT_OK ? Int(n) : nil
    }

    public static func setBLASThreads(_ n: Int) throws { try check(ct_set_blas_threads(Int32(n))) }

    /// Which library computes linear layers on fp32 CPU tensors.
    public enum GEMMBackend: String, Sendable, CaseIterable {
        /// oneDNN's sgemm, JIT-compiled for the CPU's ISA (the default).
        case onednn
        /// at::linear, i.e. the system BLAS (OpenBLAS here).
        case aten
    }

    /// Which implementation computes `Tensor.attention` (`ct_set_attention_backend`).
    public enum AttentionBackend: Sendable, CaseIterable {
        /// SDPA for CUDA tensors where the shim is built against torch 2 or later, the shim's
        /// own kernels for the rest (the default).
        case automatic
        /// The shim's own kernels for every tensor.
        case shim
        /// at::scaled_dot_product_attention for every tensor; an error on torch 1.x.
        case sdpa
    }

    /// Whether this build has at::scaled_dot_product_attention (built against torch 2 or later).
    public static var hasSDPA: Bool {
        var v = false
        return ct_has_sdpa(&v) == CT_OK && v
    }

    public static var attentionBackend: AttentionBackend {
        var b = CT_ATTENTION_AUTO
        _ = ct_get_attention_backend(&b)
        return b == CT_ATTENTION_SDPA ? .sdpa : b == CT_ATTENTION_SHIM ? .shim : .automatic
    }

    public static func setAttentionBackend(_ b: AttentionBackend) throws {
        try check(ct_set_attention_backend(b == .sdpa ? CT_ATTENTION_SDPA : b == .shim ? CT_ATTENTION_SHIM : CT_ATTENTION_AUTO))
    }

    /// Whether this build has oneDNN (libdnnl-dev was installed when the shim was compiled).
    public static var hasOneDNN: Bool {
        var v = false
        return ct_has_onednn(&v) == CT_OK && v
    }

    public static var gemmBackend: GEMMBackend {
        var b = CT_GEMM_ONEDNN
        _ = ct_get_gemm_backend(&b)
        return b == CT_GEMM_ATEN ? .aten : .onednn
    }

    public static func setGEMMBackend(_ b: GEMMBackend) throws {
        try check(ct_set_gemm_backend(b == .aten ? CT_GEMM_ATEN : CT_GEMM_ONEDNN))
    }

    /// Threads of the oneDNN products (0: inherit torch's intra-op setting).
    public static func setGEMMThreads(_ n: Int) throws { try check(ct_set_gemm_threads(Int32(n))) }

    /// The backend in effect, oneDNN's version and ISA, and its thread count.
    public static var gemmInfo: String { (try? shimString { ct_gemm_info($0, $1, $2) }) ?? "unknown" }

    /// Seeds every device's default generator.
    public static func manualSeed(_ seed: UInt64) throws { try check(ct_manual_seed(seed)) }

    /// How many bytes of freed CPU tensor memory the caching allocator keeps for reuse (0: the
    /// cache is off and c10's default allocator serves every tensor). Training allocates the
    /// same large buffers every step; without the cache glibc returns them to the kernel and
    /// each step page-faults them in again (README, "Benchmarks").
    public static func setCPUCacheLimit(bytes: Int) throws { try check(ct_set_cpu_cache_limit(Int64(bytes))) }

    /// Bytes the cache holds unused now, and allocations it served (hits) or passed to malloc.
    public static var cpuCacheStats: (cachedBytes: Int, hits: Int, misses: Int) {
        var c: Int64 = 0, h: Int64 = 0, m: Int64 = 0
        _ = ct_cpu_cache_stats(&c, &h, &m)
        return (Int(c), Int(h), Int(m))
    }

    /// The settings bcsft uses unless told otherwise. Matrix products on every core. Torch's
    /// intra-op threads: every core when oneDNN computes the products (it shares torch's OpenMP
    /// pool, and the memory-bound ops between products then run on every core too: 1.2-1.3x a
    /// training step on 2 cores), 1 when OpenBLAS does (its own pool and torch's oversubscribe
    /// the cores). Measured on 2 cores: README, "Threads and BLAS". The CPU allocator's cache
    /// holds up to 1 GiB of freed blocks.
    public struct Settings: Sendable, Equatable {
        public var torchThreads: Int
        /// Threads of the matrix products: OpenBLAS's pool and the oneDNN calls.
        public var blasThreads: Int
        public var gemm: GEMMBackend
        /// Freed CPU memory kept for reuse, in bytes (0: off).
        public var cpuCacheBytes: Int

        public static let defaultCPUCacheBytes = 1 << 30

        public init(torchThreads: Int, blasThreads: Int, gemm: GEMMBackend = .onednn, cpuCacheBytes: Int = Settings.defaultCPUCacheBytes) {
            self.torchThreads = torchThreads
            self.blasThreads = blasThreads
            self.gemm = gemm
            self.cpuCacheBytes = cpuCacheBytes
        }

        /// The defaults for a process that has `cores` cores to itself.
        public static func defaults(cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                                    gemm: GEMMBackend = Runtime.hasOneDNN ? .onednn : .aten) -> Settings {
            let n = max(1, cores)
            return Settings(torchThreads: gemm == .onednn ? n : 1, blasThreads: n, gemm: gemm)
        }

        public static var `default`: Settings { defaults() }

        /// The defaults, overridden by BCSFT_GEMM, BCSFT_TORCH_THREADS, BCSFT_BLAS_THREADS and
        /// BCSFT_CPU_CACHE_MB.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment,
                                           cores: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Settings {
            var gemm: GEMMBackend = Runtime.hasOneDNN ? .onednn : .aten
            if let raw = env["BCSFT_GEMM"] {
                guard let b = GEMMBackend(rawValue: raw.lowercased()) else {
                    let known = GEMMBackend.allCases.map(\.rawValue).joined(separator: ", ")
                    throw TorchError(kind: .invalidArgument, message: "environment variable BCSFT_GEMM='\(raw)' is not one of: \(known)")
                }
                gemm = b
            }
            var s = Settings.defaults(cores: cores, gemm: gemm)
            for (key, path) in [("BCSFT_TORCH_THREADS", \Settings.torchThreads), ("BCSFT_BLAS_THREADS", \Settings.blasThreads)] {
                guard let raw = env[key] else { continue }
                guard let n = Int(raw), n > 0 else {
                    throw TorchError(kind: .invalidArgument, message: "environment variable \(key)='\(raw)' is not a positive integer")
                }
                s[keyPath: path] = n
            }
            if let raw = env["BCSFT_CPU_CACHE_MB"] {
                guard let mb = Int(raw), mb >= 0, mb < 1 << 40 else {
                    throw TorchError(kind: .invalidArgument, message: "environment variable BCSFT_CPU_CACHE_MB='\(raw)' is not a size in MiB (0 turns the cache off)")
                }
                s.cpuCacheBytes = mb << 20
            }
            return s
        }
    }

    /// Applies the settings; BLAS threads are skipped (not an error) when BLAS is not OpenBLAS.
    public static func apply(_ s: Settings) throws {
        try setThreads(s.torchThreads)
        if blasThreads != nil { try setBLASThreads(s.blasThreads) }
        try setGEMMBackend(s.gemm)
        try setGEMMThreads(s.blasThreads)
        try setCPUCacheLimit(bytes: s.cpuCacheBytes)
    }
}
