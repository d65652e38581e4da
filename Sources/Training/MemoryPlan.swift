import Datasets
import Foundation
import Models
import Torch

/// What a training run will hold per device, worked out from the settings before any weight is
/// loaded: `bcsft train --dry-run` prints it and every run checks it first. Full fine-tuning in
/// fp32 with AdamW keeps, per parameter, the weight, its gradient and the two moments (4 bytes
/// each); the activations are a rough upper estimate of what one micro-batch keeps for backward
/// (each layer's inputs and intermediates, the logits and their gradient), less what
/// `activation_checkpointing` and `loss_chunk_tokens` save.
public struct MemoryPlan: Sendable {
    public let parameters: Double
    /// Every parameter trains (full fine-tuning; LoRA and frozen bases are not built yet).
    public var trainableParameters: Double { parameters }
    /// Weight + gradient + AdamW's two moments, fp32.
    public let bytesPerParameter: Double = 16
    public let activationBytes: Double
    /// The micro-batches' own tensors (ids, targets, masks, positions) for grad_accum steps.
    public let batchBytes: Double
    /// The device's memory: this machine's for the CPU; nil for CUDA (not queried here).
    public let deviceBytes: Double?
    let config: TrainConfig
    let seqLen: Int

    public var parameterBytes: Double { parameters * bytesPerParameter }
    public var peakBytes: Double { parameterBytes + activationBytes + batchBytes }

    public init(_ c: TrainConfig, model m: LlamaConfig, seqLen: Int, device: Device) {
        config = c
        self.seqLen = seqLen
        parameters = m.parameterCount
        let tokens = Double(c.batchSize) * Double(seqLen)
        // The logits and their gradient: past loss_chunk_tokens only one chunk's at a time, plus
        // the head's float32 gradient the chunked loss keeps.
        let chunked = c.lossChunkTokens > 0 && tokens > Double(c.lossChunkTokens)
        let logits = (chunked ? Double(c.lossChunkTokens) : tokens) * Double(m.vocabSize) * 12
            + (chunked ? Double(m.vocabSize) * Double(m.hiddenSize) * 4 : 0)
        // Each layer's inputs and intermediates; with activation checkpointing each layer keeps its
        // input alone and one layer's intermediates exist at a time, during its backward.
        let hidden = Double(m.hiddenSize), layers = Double(m.numHiddenLayers)
        let perToken = c.activationCheckpointing ? hidden * layers * 4 + hidden * 40 : hidden * layers * 40
        activationBytes = logits + tokens * (perToken + Double(m.intermediateSize) * 12)
        batchBytes = Double(c.gradAccum) * tokens * 32
        deviceBytes = device.isCUDA ? nil : Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// The model a run would train: `model.from`'s config.json (read alone, no weights), or the
    /// from-scratch config with the dataset's vocabulary.
    public static func modelConfig(_ c: TrainConfig, manifest: Manifest) throws -> LlamaConfig {
        if let from = c.model.from { return try LlamaConfig.load(URL(fileURLWithPath: from).appendingPathComponent("config.json")) }
        return try Trainer.scratchConfig(c, manifest)
    }

    /// Refuses a plan that cannot fit the device, naming what to lower: the model when its
    /// weights, gradients and optimizer state alone do not fit, else batch_size or grad_accum.
    public func check() throws {
        guard let memory = deviceBytes, peakBytes >= memory else { return }
        let gib = 1073741824.0
        if parameterBytes >= memory {
            throw TrainingError.invalidConfig(source: "train config", key: config.model.from != nil ? "model.from" : "model.config", reason: String(
                format: "%.3g parameters need %.1f GiB for full fp32 fine-tuning (weights, gradients and AdamW's moments: %.0f bytes each), more than this machine's %.1f GiB",
                parameters, parameterBytes / gib, bytesPerParameter, memory / gib))
        }
        let key = batchBytes > activationBytes ? "grad_accum" : "batch_size"
        throw TrainingError.invalidConfig(source: "train config", key: key, reason: String(
            format: "batch_size %d x grad_accum %d rows of %d tokens need about %.1f GiB for one step, more than this machine's %.1f GiB: lower %@",
            config.batchSize, config.gradAccum, seqLen, peakBytes / gib, memory / gib, key))
    }

    /// The plan as `bcsft train --dry-run` prints it.
    public var text: String {
        let gib = 1073741824.0
        var lines = [
            String(format: "parameters        %.4g (trainable %.4g: full fine-tuning)", parameters, trainableParameters),
            String(format: "per parameter     %.0f bytes (fp32 weight, gradient, AdamW's two moments) = %.2f GiB", bytesPerParameter, parameterBytes / gib),
            String(format: "activations       %.2f GiB for a micro-batch of %d x %d tokens (upper estimate)", activationBytes / gib, config.batchSize, seqLen),
            String(format: "batches           %.2f GiB (grad_accum %d)", batchBytes / gib, config.gradAccum),
            String(format: "peak per device   %.2f GiB", peakBytes / gib),
        ]
        if let d = deviceBytes {
            lines.append(String(format: "this machine      %.1f GiB: %@", d / gib, peakBytes < d ? "fits" : "does not fit"))
        } else {
            lines.append("device memory     not queried for CUDA: compare the peak with the GPU's")
        }
        return lines.joined(separator: "\n")
    }
}
