import Foundation
import Tokenizers
import Torch

/// The checks behind `bcsft doctor`: each runs the real component, not just a version query.
public enum Doctor {
    public enum Status: Sendable { case ok, warning, failed }
    public struct Check: Sendable {
        public let name: String
        public let status: Status
        public let detail: String
    }
    public struct Report: Sendable {
        public let checks: [Check]
        public let buildConfig: String
        public var failed: Bool { checks.contains { $0.status == .failed } }
    }

    public static func run() -> Report {
        var checks: [Check] = []
        func add(_ name: String, _ body: () throws -> (Status, String)) {
            do {
                let (s, d) = try body()
                checks.append(Check(name: name, status: s, detail: d))
            } catch {
                checks.append(Check(name: name, status: .failed, detail: error.localizedDescription))
            }
        }
        add("libtorch") { (.ok, "\(Runtime.torchVersion)\(Runtime.cudaBuilt ? " (CUDA build)" : " (CPU)")") }
        add("BLAS") {
            let blas = Runtime.blas
            // pip's and the official libtorch downloads carry MKL inside libtorch_cpu.
            if Runtime.buildConfig.contains("BLAS_INFO=mkl"), !blas.localizedCaseInsensitiveContains("openblas") {
                return (.ok, "MKL, built into libtorch (\(blas))")
            }
            guard blas.localizedCaseInsensitiveContains("openblas") else {
                return (.warning, "\(blas): not OpenBLAS; expect ~3x slower matmuls (scripts/setup selects OpenBLAS)")
            }
            // OpenBLAS 0.3.21 falls back to SSE3 kernels on CPUs it cannot identify (e.g. VMs
            // reporting a generic "Intel Xeon Processor"); on such a machine here, forcing the
            // AVX-512 kernels made fp32 matmuls 3.5x and training steps 2.1x faster, with
            // results within fp32 rounding. Not forced by bcsft: the user decides.
            let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            if blas.hasSuffix("kernel Prescott"), flags.contains(" avx2") {
                let hint = flags.contains(" avx512f") ? "SkylakeX" : "Haswell"
                return (.warning, "\(blas): OpenBLAS chose its old SSE3 kernels on this AVX2 CPU; `export OPENBLAS_CORETYPE=\(hint)` made matmuls ~3x faster on such machines")
            }
            return (.ok, blas)
        }
        add("GEMM") { (.ok, "linear layers: \(Runtime.gemmInfo) (BCSFT_GEMM=onednn|aten)") }
        add("CPU cache") {
            let limit = (try? Runtime.Settings.fromEnvironment().cpuCacheBytes) ?? Runtime.Settings.defaultCPUCacheBytes
            return (.ok, limit == 0 ? "off: every tensor from malloc (BCSFT_CPU_CACHE_MB=0)"
                               : "freed tensor memory kept for reuse, up to \(limit >> 20) MiB (BCSFT_CPU_CACHE_MB)")
        }
        add("threads") {
            let blas = Runtime.blasThreads.map(String.init) ?? "n/a"
            return (.ok, "torch intra-op \(Runtime.threads), BLAS \(blas), cores \(ProcessInfo.processInfo.activeProcessorCount) (BCSFT_TORCH_THREADS, BCSFT_BLAS_THREADS)")
        }
        add("CUDA") {
            Runtime.cudaAvailable ? (.ok, "available, \(Runtime.cudaDeviceCount) device(s)")
                : Runtime.cudaBuilt ? (.warning, "not available: this CUDA libtorch sees no GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
                : (.ok, "not available (CPU libtorch; set LIBTORCH to a CUDA libtorch to use GPUs)")
        }
        add("autograd") {
            // A least-squares step: the gradient of sum((w x - y)^2) must match 2 x^T (w x - y).
            let x = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
            let w = try Tensor([0.5, -1, 2, 0] as [Float], shape: [2, 2]).requiresGrad(true)
            let r = try w.matmul(x) - Tensor.ones([2, 2])
            try r.square().sum().backward()
            let expected = try (r.detach() * 2).matmul(x.transpose(0, 1)).toArray(Float.self)
            let got = try XCTUnwrapGrad(w)
            let ok = zip(got, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 }
            return (ok ? .ok : .failed, ok ? "matmul, backward and gradients correct" : "gradient mismatch: \(got) vs \(expected)")
        }
        add("SentencePiece") {
            let lib = try SentencePieceLibrary.path()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-doctor-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let text = (0..<300).map { "line \($0): \($0 * 7) apples and \($0 % 13) pears, café" }.joined(separator: "\n")
            let input = dir.appendingPathComponent("text.txt")
            try text.write(to: input, atomically: true, encoding: .utf8)
            let tok = try SentencePieceTrainer(vocabularySize: 320).train(inputs: [input], output: dir.appendingPathComponent("m.model"))
            let probe = "12 apples, café ☕"
            let back = try tok.decode(tok.encode(probe))
            return back == probe ? (.ok, "loaded \(lib); trained a \(tok.vocabularySize)-piece model, round trip exact")
                : (.failed, "round trip changed the text: '\(back)'")
        }
        return Report(checks: checks, buildConfig: Runtime.buildConfig)
    }

    private static func XCTUnwrapGrad(_ t: Tensor) throws -> [Float] {
        guard let g = try t.grad else { throw TorchError(kind: .unknown, message: "no gradient after backward()") }
        return try g.toArray(Float.self)
    }
}
