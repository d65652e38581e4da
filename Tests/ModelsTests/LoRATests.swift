import Foundation
import Models
import Settings
import TestSupport
import Torch
import XCTest

/// Low-rank adapters on the projections: the adapter math, merging for inference, PEFT's
/// folders (a fixture PEFT saved, Fixtures/lora/make_lora_fixture.py) and fingerprints.
final class LoRATests: XCTestCase {
    static var base: URL { HFFixture.dir.appendingPathComponent("families/qwen2") }
    static var adapterFolder: URL { HFFixture.dir.appendingPathComponent("lora/qwen2-adapter") }
    static let all = LoRAConfig(rank: 4, alpha: 8, dropout: 0, targets: LoRAConfig.knownTargets)
    let ids = try! Tensor([1, 5, 9, 30, 2, 17, 40, 3, 11, 12, 13, 14] as [Int64], shape: [2, 6])

    func logits(_ m: Llama) throws -> [Float] { try withNoGrad { try m.forward(ids).toArray(Float.self) } }

    /// Fresh adapters (B = 0) leave every logit as the base gives it.
    func testFreshAdaptersLeaveTheBaseUnchanged() throws {
        let model = try Checkpoint.load(Self.base)
        let before = try logits(model)
        try model.attach(LoRAAdapters(Self.all, model: model.config, generator: Generator(seed: 3)))
        XCTAssertEqual(try logits(model), before)
        // PEFT's kaiming-uniform A: within ±1/sqrt(in), not all zero; B zeros.
        let adapters = try XCTUnwrap(model.adapters)
        for (name, t) in adapters.parameters {
            let v = try t.toArray(Float.self)
            if name.hasSuffix("lora_B.weight") { XCTAssertTrue(v.allSatisfy { $0 == 0 }, name); continue }
            let bound = 1 / Float(t.size(1)).squareRoot()
            XCTAssertTrue(v.allSatisfy { abs($0) <= bound }, name)
            XCTAssertGreaterThan(v.map(abs).max()!, bound / 2, name)
        }
        XCTAssertEqual(adapters.parameters.reduce(0) { $0 + $1.1.count }, LoRAConfig.parameterCount(model.config, Self.all))
        // hidden 32, kv width 16, intermediate 64, 2 layers, rank 4.
        XCTAssertEqual(LoRAConfig.parameterCount(model.config, Self.all), 2 * 4 * ((32 + 32) * 2 + (32 + 16) * 2 + (32 + 64) * 3))
    }

    /// Adapters with B drawn: the unmerged forward, the merged model and generation's fused
    /// weights agree.
    func testMergedAndFusedAgreeWithTheAdapterForward() throws {
        let model = try Checkpoint.load(Self.base)
        let plain = try logits(model)
        let adapters = try LoRAAdapters(Self.all, model: model.config, generator: Generator(seed: 3))
        let g = try Generator(seed: 4)
        try withNoGrad { for (n, t) in adapters.parameters where n.hasSuffix("lora_B.weight") { try t.copy_(Tensor.randn(t.shape, generator: g) * 0.2) } }
        try model.attach(adapters)
        let adapted = try logits(model)
        XCTAssertGreaterThan(maxAbsDiff(adapted, plain), 1e-2, "the adapters change the logits")
        let merged = try model.merged()
        XCTAssertNil(merged.adapters)
        XCTAssertLessThan(maxAbsDiff(try logits(merged), adapted), 1e-5)
        let prompt: [Int32] = [1, 5, 9, 30, 2, 17]
        let a = try model.generate(prompts: [prompt], Sampling(temperature: 0, maxTokens: 8))[0].ids
        let b = try merged.generate(prompts: [prompt], Sampling(temperature: 0, maxTokens: 8))[0].ids
        XCTAssertEqual(a, b, "generation (fused weights with the adapters merged) as the merged model")
    }

    /// After backward, only the adapters hold gradients; the base is frozen.
    func testGradientsReachOnlyTheAdapters() throws {
        let model = try Checkpoint.load(Self.base)
        try model.attach(LoRAAdapters(LoRAConfig(rank: 2, alpha: 4, dropout: 0.5, targets: ["q_proj", "down_proj"]), model: model.config, generator: Generator(seed: 3)))
        let loss = try model.forward(ids).square().mean()
        try loss.backward()
        for (name, w) in model.parameters {
            XCTAssertFalse(w.requiresGrad, name)
            XCTAssertNil(try w.grad, name)
        }
        // Masks depend on the seed and the forward call alone: the same seed draws the same.
        let adapters = try XCTUnwrap(model.adapters)
        let b = try XCTUnwrap(adapters.parameters.first { $0.0.hasSuffix("lora_B.weight") }).1
        let b0 = try b.clone()
        try withNoGrad { try b.copy_(Tensor.ones(b.shape)) }
        adapters.dropoutSeed = 9
        let first = try model.forward(ids).toArray(Float.self)
        XCTAssertTrue(try model.forward(ids).toArray(Float.self) != first, "the next call draws other masks")
        adapters.dropoutSeed = 9
        XCTAssertTrue(try model.forward(ids).toArray(Float.self) == first, "the same seed, the same masks")
        try withNoGrad { try b.copy_(b0) }
        let trainable = model.trainableParameters
        XCTAssertEqual(trainable.count, 2 * 2 * 2)
        for (name, t) in trainable where name.hasSuffix("lora_B.weight") {
            let g = try XCTUnwrap(try t.grad, name)
            XCTAssertGreaterThan(try g.abs().max().item(), 0, name)
        }
    }

    /// PEFT's own adapter folder on the families/qwen2 base (every projection, q/k/v with biases;
    /// base_model_name_or_path relative): our logits within 1e-4 of PeftModel's, and adapters we
    /// save carry PEFT's tensor names.
    func testPEFTAdapterFolderGivesPEFTsLogits() throws {
        let e = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: HFFixture.dir.appendingPathComponent("lora/expected.json"))) as? [String: Any])
        let rows = try XCTUnwrap(e["ids"] as? [[Int]])
        let input = try Tensor(rows.flatMap { $0.map(Int64.init) }, shape: [rows.count, rows[0].count])
        let model = try Checkpoint.load(Self.adapterFolder)
        let got = try withNoGrad { try model.forward(input).toArray(Float.self) }
        XCTAssertLessThan(maxAbsDiff(got, try XCTUnwrap(e["logits"] as? [Double]).map(Float.init)), 1e-4)
        let plain = try withNoGrad { try Checkpoint.load(Self.base).forward(input).toArray(Float.self) }
        XCTAssertGreaterThan(maxAbsDiff(got, plain), 1e-2)

        let unmerged = try AdapterCheckpoint.loadUnmerged(Self.adapterFolder)
        let adapters = try XCTUnwrap(unmerged.adapters)
        XCTAssertEqual(adapters.parameters.map(\.0).sorted(), e["keys"] as? [String])
        let out = try temporaryDirectory().appendingPathComponent("saved")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        try AdapterCheckpoint.save(adapters, base: Self.base, to: out)
        let (entries, _) = try SafeTensors.header(Data(contentsOf: out.appendingPathComponent("adapter_model.safetensors")), path: "saved")
        XCTAssertEqual(entries.map(\.name).sorted(), e["keys"] as? [String])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(config["peft_type"] as? String, "LORA")
        XCTAssertEqual(config["task_type"] as? String, "CAUSAL_LM")
        XCTAssertEqual(config["r"] as? Int, 4)
        XCTAssertEqual(config["lora_alpha"] as? Int, 8)
        XCTAssertEqual(config["target_modules"] as? [String], LoRAConfig.knownTargets)
        XCTAssertEqual(config["base_model_name_or_path"] as? String, Self.base.standardizedFileURL.path)
        XCTAssertEqual(config["bias"] as? String, "none")
        XCTAssertEqual(config["fan_in_fan_out"] as? Bool, false)
        XCTAssertLessThan(maxAbsDiff(try withNoGrad { try Checkpoint.load(out).forward(input).toArray(Float.self) }, got), 1e-6)
    }

    /// A base that is not where adapter_config.json says: the error names the file and the key.
    func testAMissingBaseNamesTheKey() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("adapter")
        try FileManager.default.copyItem(at: Self.adapterFolder, to: a)
        XCTAssertThrowsError(try Checkpoint.load(a)) { error in
            let m = error.localizedDescription
            XCTAssertTrue(m.contains("adapter_config.json: field 'base_model_name_or_path': '../../families/qwen2' is not a model folder here"), m)
        }
    }

    /// Fingerprints (cache keys) change with the adapters and with the base, not with where the
    /// base is.
    func testFingerprintCoversAdaptersAndBase() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base"), adapter = dir.appendingPathComponent("adapter")
        try FileManager.default.copyItem(at: Self.base, to: base)
        try FileManager.default.copyItem(at: Self.adapterFolder, to: adapter)
        let configURL = adapter.appendingPathComponent("adapter_config.json")
        func pointBase(to url: URL) throws {
            var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            config["base_model_name_or_path"] = url.path
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        }
        try pointBase(to: base)
        let first = try Checkpoint.fingerprint(adapter)
        XCTAssertNotEqual(first, try Checkpoint.fingerprint(base))
        // The same base elsewhere: the same model.
        let moved = dir.appendingPathComponent("moved")
        try FileManager.default.copyItem(at: base, to: moved)
        try pointBase(to: moved)
        XCTAssertEqual(try Checkpoint.fingerprint(adapter), first)
        try pointBase(to: base)
        // Other adapters.
        var w = try SafeTensors.load(adapter.appendingPathComponent("adapter_model.safetensors"))
        let name = try XCTUnwrap(w.keys.sorted().first)
        w[name] = try w[name]! * 2
        try SafeTensors.save(w, to: adapter.appendingPathComponent("adapter_model.safetensors"))
        let second = try Checkpoint.fingerprint(adapter)
        XCTAssertNotEqual(second, first)
        // Another base.
        var bw = try SafeTensors.load(base.appendingPathComponent("model.safetensors"))
        bw["model.norm.weight"] = try bw["model.norm.weight"]! * 2
        try SafeTensors.save(bw, to: base.appendingPathComponent("model.safetensors"))
        XCTAssertNotEqual(try Checkpoint.fingerprint(adapter), second)
    }

    /// bcsft export's library half: the adapter folder merged into a plain HF folder (no
    /// adapter files), in bfloat16 and sharded as asked, giving the merged logits.
    func testExportMergesIntoAPlainFolder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("merged")
        try Checkpoint.export(Self.adapterFolder, to: out, dtype: .float32)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertTrue(files.contains("config.json") && files.contains("model.safetensors") && files.contains("tokenizer.json"), "\(files)")
        XCTAssertFalse(files.contains("adapter_config.json"))
        let want = try logits(try Checkpoint.load(Self.adapterFolder))
        XCTAssertLessThan(maxAbsDiff(try logits(try Checkpoint.load(out)), want), 1e-6)
        let small = dir.appendingPathComponent("bf16")
        try Checkpoint.export(Self.adapterFolder, to: small, dtype: .bfloat16, maxShardBytes: 40_000)
        XCTAssertTrue(FileManager.default.fileExists(atPath: small.appendingPathComponent("model.safetensors.index.json").path))
        XCTAssertLessThan(maxAbsDiff(try logits(try Checkpoint.load(small)), want), 0.5, "bfloat16 rounding only")
        XCTAssertThrowsError(try Checkpoint.export(out, to: out))
    }
}
