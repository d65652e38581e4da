import Foundation
import Models
import Torch
@testable import Training
import XCTest

/// The memory plan's arithmetic for each way of training, on the paper's 8B student (its
/// config.json's architecture keys), planned for an 80 GB GPU from this CPU machine.
final class MemoryPlanTests: XCTestCase {
    static let llama8B = """
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
     "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": false,
     "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
    """

    func plan(_ set: (inout TrainConfig) -> Void, seqLen: Int = 16384, world: Int = 1) throws -> MemoryPlan {
        var c = TrainConfig(data: "d", output: "o", steps: 1)
        c.batchSize = 1
        c.model.from = "/students/llama-3.1-8b"
        set(&c)
        try c.validate()
        let m = try LlamaConfig.decode(Data(Self.llama8B.utf8), source: "config.json")
        return MemoryPlan(c, model: m, seqLen: seqLen, isCUDA: true, worldSize: world, deviceMemory: 80e9)
    }

    func testBytesPerParameterFollowTheMode() throws {
        let fp32 = try plan { _ in }
        XCTAssertEqual(fp32.parameters, 8.03e9, accuracy: 0.01e9, "Llama-3.1-8B's published size")
        XCTAssertEqual(fp32.bytesPerParameter, 16)
        XCTAssertEqual(try plan { $0.dtype = .bfloat16 }.bytesPerParameter, 20, "bf16 weight + gradient; fp32 master, its gradient, moments")
        XCTAssertEqual(try plan { $0.dtype = .bfloat16; $0.masterWeights = false }.bytesPerParameter, 8)
        // zero 1 divides the master's share by the ranks, not the weights, gradients or flat buffer.
        XCTAssertEqual(try plan({ $0.dtype = .bfloat16; $0.zero = 1 }, world: 8).bytesPerParameter, 4 + 4 + 16.0 / 8)
        XCTAssertEqual(try plan({ $0.zero = 1; $0.nproc = 4 }, world: 4).bytesPerParameter, 8 + 4 + 16.0 / 4)
        XCTAssertEqual(try plan({ $0.dtype = .bfloat16; $0.masterWeights = false; $0.zero = 1 }, world: 8).bytesPerParameter, 4 + 2 + 8.0 / 8)
        XCTAssertEqual(try plan({ $0.dtype = .bfloat16 }, world: 8).bytesPerParameter, 20, "without zero every rank holds it all")
    }

    /// PEFT reports 6,815,744 trainable parameters for rank 16 on q_proj and v_proj of Llama 3 8B.
    func testLoRATrainsOnlyItsAdaptersOverAFrozenBase() throws {
        let p = try plan { $0.dtype = .bfloat16; $0.lora = TrainConfig.LoRASpec() }
        XCTAssertEqual(p.trainableParameters, 6_815_744)
        XCTAssertEqual(p.frozenBytes, p.parameters * 2, "the base in bf16, no gradient, no moments")
        XCTAssertLessThan(p.parameterBytes, 17e9)
    }

    func testCheckpointingAndChunkingShrinkTheActivations() throws {
        let plain = try plan { $0.dtype = .bfloat16; $0.masterWeights = false; $0.lossChunkTokens = 0 }
        let ckpt = try plan { $0.dtype = .bfloat16; $0.masterWeights = false; $0.activationCheckpointing = true; $0.lossChunkTokens = 0 }
        let both = try plan { $0.dtype = .bfloat16; $0.masterWeights = false; $0.activationCheckpointing = true; $0.lossChunkTokens = 1024 }
        XCTAssertLessThan(ckpt.activationBytes * 3, plain.activationBytes, "32 layers' intermediates become their inputs (the logits stay)")
        XCTAssertLessThan(both.activationBytes * 2, ckpt.activationBytes, "16k tokens x 128k vocabulary of logits become 1k")
        // 8 bytes x 8.03B = 64 GB: with both, one 16k-token row fits an 80 GB GPU; without, not.
        XCTAssertNoThrow(try both.check())
        XCTAssertThrowsError(try plain.check()) { e in
            XCTAssertTrue("\(e)".contains("batch_size") && "\(e)".contains("activation_checkpointing"), "\(e)")
        }
        XCTAssertThrowsError(try plan { $0.lossChunkTokens = 0 }.check()) { e in
            XCTAssertTrue("\(e)".contains("model.from") && "\(e)".contains("try dtype bfloat16"), "\(e)")
        }
    }
}
