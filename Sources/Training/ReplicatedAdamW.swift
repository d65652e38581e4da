import Foundation
import Torch

/// fp32 training without ZeRO: the shim's AdamW over the model's own weights, its moments beside
/// each weight, identical on every rank; gradients all-reduced in one flat collective, clipped
/// together. Checkpoints hold `optimizer.pt` (exp_avg/NAME, exp_avg_sq/NAME, step/NAME).
final class ReplicatedAdamW: TrainingOptimizer {
    let adamw: AdamW
    let groups: [ParameterGroup]
    let group: ProcessGroup?
    /// The trainable weights in the model's order, the order the norm for clipping sums them in.
    let trainable: [Tensor]
    var names: [String] { groups.flatMap { $0.parameters.map(\.0) } }

    init(_ groups: [ParameterGroup], trainable: [Tensor], hyperparameters: AdamW.Hyperparameters, group: ProcessGroup?) throws {
        self.groups = groups
        self.trainable = trainable
        self.group = group
        adamw = try AdamW(hyperparameters)
        for g in groups { try adamw.addGroup(g.parameters.map(\.1), weightDecay: g.weightDecay) }
    }

    func zeroGrad() throws { try adamw.zeroGrad() }

    func synchronizeAndClip(maxNorm: Double) throws -> Double {
        let params = trainable
        if let group {
            // One flat all-reduce of every gradient: the sum over ranks is the gradient of the
            // global loss, since each rank divided by the global token count.
            try group.allReduceSum(try params.compactMap { try $0.grad })
        }
        return try clipGradNorm(params, maxNorm: maxNorm)
    }

    func step(learningRate: Double) throws { try adamw.step(learningRate: learningRate) }

    var stateBytes: Int { get throws { try adamw.stateBytes } }
    var keepsMasterWeights: Bool { false }
    var stagesShards: Bool { false }
    func stage(into staging: URL) throws {}

    func save(into checkpoint: URL, staging: URL) throws {
        var tensors: [(String, Tensor)] = []
        for (i, name) in names.enumerated() {
            let s = try adamw.state(of: i)
            guard let m = s.expAvg, let v = s.expAvgSq else { continue }
            tensors += [("exp_avg/\(name)", m), ("exp_avg_sq/\(name)", v), ("step/\(name)", try Tensor([Int64(s.step)]))]
        }
        try TensorFile.save(tensors, to: checkpoint.appendingPathComponent(RunDirectory.optimizerFile).path)
    }

    func restore(from checkpoint: OptimizerCheckpoint) throws {
        let states = try checkpoint.parameterStates(groups)
        for (i, (name, w)) in groups.flatMap(\.parameters).enumerated() {
            guard let s = states[name] else { continue }
            try adamw.setState(AdamW.ParameterState(step: s.step, expAvg: s.expAvg, expAvgSq: s.expAvgSq), of: i)
            // A sharded checkpoint's exact weights are its master, not the HF files.
            if let master = s.master { try withNoGrad { try w.copy_(master.view(w.shape)) } }
        }
    }
}
