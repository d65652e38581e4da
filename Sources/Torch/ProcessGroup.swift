import CTorch
import Foundation

/// A c10d process group for data-parallel training, "gloo" (CPU tensors) or "nccl" (CUDA
/// tensors, one GPU per rank, in a shim built against a CUDA libtorch): rank 0 hosts a TCP store at
/// masterAddress:masterPort and every rank connects to it. torchrun's environment variables
/// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) describe the same thing.
public final class ProcessGroup: @unchecked Sendable {
    let handle: OpaquePointer
    public let rank: Int
    public let worldSize: Int

    /// Seconds a collective waits for the other ranks: BCSFT_DIST_TIMEOUT, else 30 minutes
    /// (torch.distributed's default). Rank 0 saves checkpoints and runs validation while the
    /// others wait in the next step's all-reduce, so this must outlast the largest save.
    public static func timeout(from env: [String: String] = ProcessInfo.processInfo.environment) throws -> Double {
        guard let raw = env["BCSFT_DIST_TIMEOUT"] else { return 1800 }
        guard let t = Double(raw), t.isFinite, t > 0, t < 1e9 else {
            throw TorchError(kind: .invalidArgument, message: "BCSFT_DIST_TIMEOUT='\(raw)': expected a number of seconds, e.g. 3600")
        }
        return t
    }

    /// - timeout: seconds; nil: `timeout(from:)` the environment.
    public init(backend: String = "gloo", masterAddress: String, masterPort: Int, rank: Int, worldSize: Int,
                timeout: Double? = nil) throws {
        let timeout = try timeout ?? Self.timeout()
        var out: OpaquePointer?
        try check(ct_process_group_new(backend, masterAddress, Int32(masterPort), Int32(rank), Int32(worldSize), timeout, &out))
        handle = out!
        self.rank = rank
        self.worldSize = worldSize
    }

    /// From torchrun-style environment variables; nil when WORLD_SIZE is unset or 1.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment,
                                       backend: String = "gloo") throws -> ProcessGroup? {
        guard let ws = env["WORLD_SIZE"], let world = Int(ws), world > 1 else { return nil }
        func need(_ key: String) throws -> String {
            guard let v = env[key], !v.isEmpty else {
                throw TorchError(kind: .invalidArgument, message: "WORLD_SIZE=\(world) but \(key) is not set")
            }
            return v
        }
        guard let rank = Int(try need("RANK")), let port = Int(try need("MASTER_PORT")) else {
            throw TorchError(kind: .invalidArgument, message: "RANK and MASTER_PORT must be integers")
        }
        return try ProcessGroup(backend: backend, masterAddress: env["MASTER_ADDR"] ?? "127.0.0.1", masterPort: port, rank: rank, worldSize: world,
                                timeout: try timeout(from: env))
    }

    deinit { ct_process_group_free(handle) }

    /// Sums tensors element-wise across ranks, in place.
    public func allReduceSum(_ tensors: [Tensor]) throws {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        try withExtendedLifetime(tensors) { try check(ct_all_reduce_sum(handle, handles, Int32(handles.count))) }
    }

    /// The element-wise sum over ranks of `input` (1-D, worldSize x n elements; a scratch buffer:
    /// its contents are unspecified afterwards), of which this rank receives chunk `rank` in
    /// `output` (n elements). Over Gloo an all-reduce in place underneath (torch 1.13's Gloo has
    /// no reduce_scatter).
    public func reduceScatterSum(_ input: Tensor, into output: Tensor) throws {
        try check(ct_reduce_scatter_sum(handle, input.handle, output.handle))
    }

    /// Every rank's `input` (1-D, n elements) in rank order into `output` (worldSize x n).
    public func allGather(_ input: Tensor, into output: Tensor) throws { try check(ct_all_gather(handle, input.handle, output.handle)) }

    public func broadcast(_ tensor: Tensor, root: Int = 0) throws { try check(ct_broadcast(handle, tensor.handle, Int32(root))) }
    public func barrier() throws { try check(ct_barrier(handle)) }
}
