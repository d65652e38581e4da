import Foundation
import Torch

/// AdamW over float32 master weights, sharded ZeRO-1 style (DeepSpeed's stage 1; HF AMP's
/// master weights when unsharded): the trainable parameters of each group are laid end to end in
/// a flat index space that depends on the model alone, not on the number of ranks, and shard
/// `index` of `shards` owns one contiguous range of it (`OptimizerCheckpoint.range`). For its
/// range a rank keeps the float32 master weights and AdamW's two moments; nothing else.
///
/// Each step: every gradient, cast to float32, goes into one flat buffer per group, which is
/// reduce-scattered (summed over ranks; each rank receives its range) and becomes the master
/// shard's gradient (`Tensor.setGrad`); the norm for clipping is the square root of the
/// all-reduced sum of the shards' squared norms; the shim's AdamW steps on the shards; the updated shards are all-gathered, cast to the weights' dtype, into the
/// model's weights. With one shard (bf16 without zero, or one rank) the gradient is all-reduced
/// whole and nothing is gathered.
///
/// Parameters that got no gradient in a step count as zero-gradient ones (their moments decay
/// and weight decay applies), unlike `ReplicatedAdamW`, which skips them; in a full fine-tune
/// or LoRA every trainable parameter gets one.
final class ShardedAdamW: TrainingOptimizer {
    struct Shard {
        let group: ParameterGroup
        /// The group's flat length and the length of every shard (the last ones padded).
        let total, shardLength: Int
        /// The range of the flat index space this rank owns.
        let owned: Range<Int>
        /// Float32 master weights of `owned`: a leaf whose gradient the shim's AdamW reads.
        let master: Tensor
    }

    let shards: [Shard]
    let adamw: AdamW
    let group: ProcessGroup?
    /// How many shards the state is cut into (the world size with zero 1, else 1) and which is this rank's.
    let shardCount, shardIndex: Int
    let device: Device
    /// Set by `restore` or by the first step: the step count the shim's AdamW continues from.
    private(set) var steps = 0

    /// - initial: float32 (or exactly convertible) weights by name to start the master from, the
    ///   source the model's weights were rounded from.
    /// - masterDType: float32, or the weights' own dtype for a sharded run without float32
    ///   master weights (the moments take the master's dtype).
    init(_ groups: [ParameterGroup], initial: [String: Tensor], hyperparameters: AdamW.Hyperparameters, group: ProcessGroup?,
         sharded: Bool, device: Device, masterDType: DType = .float32) throws {
        self.group = group
        self.device = device
        shardCount = sharded ? group?.worldSize ?? 1 : 1
        shardIndex = sharded ? group?.rank ?? 0 : 0
        adamw = try AdamW(hyperparameters)
        var made: [Shard] = []
        for g in groups {
            let total = g.parameters.reduce(0) { $0 + $1.1.count }
            let owned = OptimizerCheckpoint.range(total: total, shards: shardCount, index: shardIndex)
            // Only the owned range is copied (cast as it goes): no flat copy of the whole group.
            let master = try Tensor.zeros([owned.count], dtype: masterDType, device: device)
            var offset = 0
            for (name, w) in g.parameters {
                let (lo, hi) = (max(offset, owned.lowerBound), min(offset + w.count, owned.upperBound))
                if lo < hi {
                    let from = try (initial[name] ?? w).reshape([-1]).narrow(0, start: lo - offset, length: hi - lo)
                    try master.narrow(0, start: lo - owned.lowerBound, length: hi - lo).copy_(from)
                }
                offset += w.count
            }
            _ = try master.requiresGrad(true)
            made.append(Shard(group: g, total: total, shardLength: OptimizerCheckpoint.shardLength(total: total, shards: shardCount),
                              owned: owned, master: master))
            try adamw.addGroup([master], weightDecay: g.weightDecay)
        }
        shards = made
    }

    /// Tensors (any shapes) end to end as one 1-D tensor on `device`.
    static func flatten(_ tensors: [Tensor], device: Device, padTo length: Int? = nil) throws -> Tensor {
        var parts = try tensors.map { try $0.reshape([-1]) }
        let n = parts.reduce(0) { $0 + $1.count }
        if let length, length > n { parts.append(try Tensor.zeros([length - n], dtype: parts.first?.dtype ?? .float32, device: device)) }
        return parts.isEmpty ? try Tensor.zeros([0], device: device) : try Tensor.cat(parts)
    }

    func zeroGrad() throws {
        for s in shards {
            try s.master.zeroGrad()
            for (_, w) in s.group.parameters { try w.zeroGrad() }
        }
    }

    func synchronizeAndClip(maxNorm: Double) throws -> Double {
        try withNoGrad {
            for s in shards {
                // Each gradient cast as it is copied in: one float32 buffer of the group's size
                // at a time, no float32 copy per tensor besides it.
                let flat = try Tensor.zeros([s.shardLength * shardCount], dtype: s.master.dtype, device: device)
                var offset = 0
                for (_, w) in s.group.parameters {
                    if let g = try w.grad { try flat.narrow(0, start: offset, length: w.count).copy_(g.reshape([-1])) }
                    offset += w.count
                }
                var mine = flat
                if shardCount > 1, let group {
                    mine = try Tensor.zeros([s.shardLength], dtype: s.master.dtype, device: device)
                    try group.reduceScatterSum(flat, into: mine)
                } else if let group {
                    try group.allReduceSum([flat])
                }
                try s.master.setGrad(try mine.narrow(0, start: 0, length: s.owned.count).contiguous())
            }
        }
        let masters = shards.map(\.master)
        // One shard: the shim's clipping (norms without temporaries, scaling in place).
        guard shardCount > 1, let group else { return try clipGradNorm(masters, maxNorm: maxNorm) }
        // Sharded: the norm of every shard's gradient is the root of the summed squares of each
        // rank's norm; then the same scaling as torch.nn.utils.clip_grad_norm_ (and `clipGradNorm`).
        let local = try clipGradNorm(masters, maxNorm: .greatestFiniteMagnitude)
        let t = try Tensor([local * local], device: device)  // NCCL reduces CUDA tensors only
        try group.allReduceSum([t])
        let norm = try t.item().squareRoot()
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1, norm.isFinite {
            try withNoGrad { for m in masters { if let g = try m.grad { try g.copy_(g * coef) } } }
        }
        return norm
    }

    func step(learningRate: Double) throws {
        try adamw.step(learningRate: learningRate)
        steps += 1
        try publish()
    }

    /// The master weights, cast to each weight's dtype, into the model's weights: all-gathered
    /// when sharded.
    func publish() throws {
        try withNoGrad {
            for s in shards {
                guard let dtype = s.group.parameters.first?.1.dtype else { continue }
                var full = try s.master.detach().to(dtype)
                if shardCount > 1, let group {
                    let mine = try Self.flatten([full], device: device, padTo: s.shardLength)
                    full = try Tensor.zeros([s.shardLength * shardCount], dtype: dtype, device: device)
                    try group.allGather(mine, into: full)
                }
                var offset = 0
                for (_, w) in s.group.parameters {
                    try w.copy_(full.narrow(0, start: offset, length: w.count).view(w.shape))
                    offset += w.count
                }
            }
        }
    }

    var stateBytes: Int { get throws { try adamw.stateBytes + shards.reduce(0) { $0 + $1.master.count * $1.master.dtype.size } } }
    var keepsMasterWeights: Bool { true }
    var stagesShards: Bool { shardCount > 1 }

    var layout: OptimizerCheckpoint.Layout { .init(shards: shardCount, step: steps, groups: shards.map(\.group)) }

    /// This rank's shard file: each group's moments and master over its range.
    func shardTensors() throws -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (i, s) in shards.enumerated() {
            let st = try adamw.state(of: i)
            let empty = try Tensor.zeros([s.owned.count], dtype: s.master.dtype, device: device)
            out += [("\(s.group.name)/exp_avg", st.expAvg ?? empty), ("\(s.group.name)/exp_avg_sq", st.expAvgSq ?? empty),
                    ("\(s.group.name)/master", try s.master.detach())]
        }
        return out
    }

    func stage(into staging: URL) throws {
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try TensorFile.save(try shardTensors(), to: staging.appendingPathComponent(OptimizerCheckpoint.shardFile(shardIndex, of: shardCount)).path)
    }

    func save(into checkpoint: URL, staging: URL) throws {
        let folder = checkpoint.appendingPathComponent(RunDirectory.shardedOptimizerFolder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if shardCount == 1 {
            try TensorFile.save(try shardTensors(), to: folder.appendingPathComponent(OptimizerCheckpoint.shardFile(0, of: 1)).path)
        } else {
            // The other ranks staged theirs before the barrier rank 0 passed to get here.
            for i in 0..<shardCount {
                let name = OptimizerCheckpoint.shardFile(i, of: shardCount)
                let from = staging.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: from.path) else {
                    throw TrainingError.badState(path: from.path, reason: "rank \(i) did not write its optimizer shard")
                }
                try FileManager.default.moveItem(at: from, to: folder.appendingPathComponent(name))
            }
            try? FileManager.default.removeItem(at: staging)
        }
        try OptimizerCheckpoint.writeLayout(layout, into: folder)
    }

    func restore(from checkpoint: OptimizerCheckpoint) throws {
        let states = try checkpoint.ranges(shards.map { ($0.group, $0.owned) })
        for (i, s) in shards.enumerated() {
            guard let f = states[s.group.name] else { continue }
            // setState copies into the master's dtype and device.
            try adamw.setState(AdamW.ParameterState(step: f.step, expAvg: f.expAvg, expAvgSq: f.expAvgSq), of: i)
            try withNoGrad { try s.master.copy_(f.master) }
            steps = f.step
        }
        try publish()
    }
}
