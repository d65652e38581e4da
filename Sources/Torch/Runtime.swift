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

    /// Seeds every device's default generator.
    public static func manualSeed(_ seed: UInt64) throws { try check(ct_manual_seed(seed)) }

    /// The thread settings bcsft uses unless told otherwise: torch intra-op threads 1 and
    /// OpenBLAS on every core. Measured on 2 cores (README, "Threads and BLAS"): with torch
    /// threads = cores, torch's OpenMP pool and OpenBLAS's pool oversubscribe the cores.
    public struct ThreadSettings: Sendable, Equatable {
        public var torchThreads: Int
        public var blasThreads: Int

        public init(torchThreads: Int, blasThreads: Int) {
            self.torchThreads = torchThreads
            self.blasThreads = blasThreads
        }

        public static var `default`: ThreadSettings {
            ThreadSettings(torchThreads: 1, blasThreads: ProcessInfo.processInfo.activeProcessorCount)
        }

        /// The defaults, overridden by BCSFT_TORCH_THREADS and BCSFT_BLAS_THREADS.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ThreadSettings {
            var s = ThreadSettings.default
            for (key, path) in [("BCSFT_TORCH_THREADS", \ThreadSettings.torchThreads), ("BCSFT_BLAS_THREADS", \ThreadSettings.blasThreads)] {
                guard let raw = env[key] else { continue }
                guard let n = Int(raw), n > 0 else {
                    throw TorchError(kind: .invalidArgument, message: "environment variable \(key)='\(raw)' is not a positive integer")
                }
                s[keyPath: path] = n
            }
            return s
        }
    }

    /// Applies thread settings; BLAS threads are skipped (not an error) when BLAS is not OpenBLAS.
    public static func apply(_ s: ThreadSettings) throws {
        try setThreads(s.torchThreads)
        if blasThreads != nil { try setBLASThreads(s.blasThreads) }
    }
}
