import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// bf16 as round-to-nearest-even of the float32 bit pattern, written here independently of
/// libtorch: what an exported bf16 tensor must hold.
func bfloat16Bits(_ f: Float) -> UInt16 {
    let b = f.bitPattern
    return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
}

/// The bytes of each tensor of a safetensors file, with its header entry.
func rawTensors(_ url: URL) throws -> [String: (SafeTensors.Entry, Data)] {
    let data = try Data(contentsOf: url)
    let (entries, base) = try SafeTensors.header(data, path: url.path)
    var out: [String: (SafeTensors.Entry, Data)] = [:]
    for e in entries { out[e.name] = (e, data.subdata(in: (base + e.bytes.lowerBound)..<(base + e.bytes.upperBound))) }
    return out
}

func jsonObject(_ url: URL) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.lastPathComponent)
}

/// Exported folders as serving stacks read them: sharded with an index, in float32 or bfloat16,
/// written one tensor at a time.
final class ExportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func tinyModel() throws -> Llama {
        var c = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2)
        c.eosTokenIDs = [2, 5]
        return try Llama(config: c, generator: Generator(seed: 9))
    }

    /// The folder's weight files, checked against its index: returns the shard files by name.
    func checkShardedFolder(_ out: URL, model: Llama, dtype: DType, maxShardBytes: Int) throws -> [String: [String: (SafeTensors.Entry, Data)]] {
        let fm = FileManager.default
        XCTAssertFalse(fm.fileExists(atPath: out.appendingPathComponent("model.safetensors").path), "several shards: no model.safetensors")
        let shardNames = try fm.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".safetensors") }.sorted()
        let n = shardNames.count
        XCTAssertGreaterThan(n, 2, "a tiny shard size gives several shards")
        XCTAssertEqual(shardNames, (1...n).map { String(format: "model-%05d-of-%05d.safetensors", $0, n) })
        var shards: [String: [String: (SafeTensors.Entry, Data)]] = [:]
        for name in shardNames {
            let tensors = try rawTensors(out.appendingPathComponent(name))
            let bytes = tensors.values.reduce(0) { $0 + $1.1.count }
            XCTAssertTrue(bytes <= maxShardBytes || tensors.count == 1, "\(name): \(bytes) bytes over the limit in \(tensors.count) tensors")
            shards[name] = tensors
        }
        let index = try jsonObject(out.appendingPathComponent("model.safetensors.index.json"))
        let map = try XCTUnwrap(index["weight_map"] as? [String: String])
        XCTAssertEqual(Set(map.keys), Set(model.parameters.map(\.0)), "every weight is in the index")
        for (name, file) in map { XCTAssertNotNil(shards[file]?[name], "\(name) is in \(file) as the index says") }
        XCTAssertEqual(Set(map.values), Set(shardNames), "every shard is in the index")
        let total = model.parameters.reduce(0) { $0 + $1.1.count * dtype.size }
        XCTAssertEqual((index["metadata"] as? [String: Any])?["total_size"] as? Int, total)
        for (_, tensors) in shards { for (name, (e, _)) in tensors { XCTAssertEqual(e.dtype, dtype, name) } }
        let config = try jsonObject(out.appendingPathComponent("config.json"))
        XCTAssertEqual(config["torch_dtype"] as? String, dtype == .float32 ? "float32" : "bfloat16")
        XCTAssertEqual(config["model_type"] as? String, "llama")
        XCTAssertEqual(config["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(try jsonObject(out.appendingPathComponent("generation_config.json"))["eos_token_id"] as? [Int], [2, 5], "every eos id")
        return shards
    }

    func testShardedFloat32ExportRoundTripsExactly() throws {
        let model = try tinyModel()
        let out = dir.appendingPathComponent("fp32")
        // The embeddings (8192 bytes) are over the limit: a shard of their own.
        try Checkpoint.save(model, to: out, tokenizerFiles: ["tokenizer.model": Data("tok".utf8)], maxShardBytes: 6000)
        let shards = try checkShardedFolder(out, model: model, dtype: .float32, maxShardBytes: 6000)
        XCTAssertTrue(shards.values.contains { $0.count == 1 && $0["model.embed_tokens.weight"] != nil }, "a tensor over the limit is alone")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.model").path))
        let back = try Checkpoint.load(out)
        XCTAssertEqual(back.config, model.config)
        for ((n, a), (_, b)) in zip(model.parameters, back.parameters) {
            XCTAssertEqual(try a.toArray(Float.self), try b.toArray(Float.self), n)
        }
    }

    func testBFloat16ExportHoldsTheRoundedWeights() throws {
        let model = try tinyModel()
        let out = dir.appendingPathComponent("bf16")
        try Checkpoint.save(model, to: out, dtype: .bfloat16, maxShardBytes: 3000)
        let shards = try checkShardedFolder(out, model: model, dtype: .bfloat16, maxShardBytes: 3000)
        var inFile: [String: Data] = [:]
        for (_, tensors) in shards { for (name, (_, bytes)) in tensors { inFile[name] = bytes } }
        var rounded: [String: [UInt16]] = [:]
        for (name, w) in model.parameters {
            let expected = try w.toArray(Float.self).map(bfloat16Bits)
            let got = try XCTUnwrap(inFile[name]).withUnsafeBytes { raw in (0..<(raw.count / 2)).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } }
            XCTAssertEqual(got, expected, "\(name): the float32 weights rounded to nearest even")
            rounded[name] = expected
        }
        XCTAssertTrue(rounded.values.joined().contains { $0 & 0x7F != 0 }, "the values exercise the mantissa")
        // Loaded as float32, each weight is its bf16 value exactly; loaded as bf16, the same bits.
        let asFloat = try Checkpoint.load(out)
        for (name, w) in asFloat.parameters {
            XCTAssertEqual(w.dtype, .float32)
            XCTAssertEqual(try w.toArray(Float.self), rounded[name]!.map { Float(bitPattern: UInt32($0) << 16) }, name)
        }
        let asBF16 = try Checkpoint.load(out, dtype: .bfloat16)
        for (name, w) in asBF16.parameters {
            XCTAssertEqual(w.dtype, .bfloat16)
            XCTAssertEqual(Data(try w.bytes()), inFile[name], name)
        }
    }

    /// transformers reads the sharded bf16 folder through its index, as the same model.
    func testShardedBFloat16ExportLoadsInTransformers() throws {
        let model = try tinyModel()
        // Weights 0.3 like the fixtures': logits of a few units, far from uniform.
        try withNoGrad { for (_, w) in model.parameters where w.rank == 2 { try w.copy_(w * 15) } }
        let out = dir.appendingPathComponent("bf16")
        try Checkpoint.save(model, to: out, dtype: .bfloat16, maxShardBytes: 3000)
        let ids = try Tensor([1, 7, 9, 22, 3, 40, 2, 11] as [Int64], shape: [1, 8])
        let ours = try withNoGrad { try Checkpoint.load(out).forward(ids).toArray(Float.self) }
        guard let py = hfPython() else {
            throw XCTSkip("no .venv-hf with transformers (scripts/setup-hf makes it): the sharded bf16 export not loaded in transformers")
        }
        let script = """
        import sys, json, torch
        from transformers import AutoModelForCausalLM, GenerationConfig
        m = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32).eval()
        with torch.no_grad():
            logits = m(torch.tensor([[1, 7, 9, 22, 3, 40, 2, 11]])).logits.reshape(-1).tolist()
        eos = GenerationConfig.from_pretrained(sys.argv[1]).eos_token_id
        print(json.dumps({"logits": logits, "eos": eos, "class": type(m).__name__}))
        """
        let r = try runProcess(py, ["-c", script, out.path])
        XCTAssertEqual(r.0, 0, r.2)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [String: Any])
        XCTAssertEqual(o["class"] as? String, "LlamaForCausalLM")
        XCTAssertEqual(o["eos"] as? [Int], [2, 5])
        let theirs = try XCTUnwrap(o["logits"] as? [Double]).map(Float.init)
        XCTAssertEqual(theirs.count, ours.count)
        XCTAssertLessThan(zip(ours, theirs).map { abs($0 - $1) }.max() ?? 1, 1e-4)
    }

    func testOneShardIsModelSafetensorsWithoutAnIndex() throws {
        let model = try tinyModel()
        let out = dir.appendingPathComponent("one")
        try Checkpoint.save(model, to: out, dtype: .bfloat16)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(files, ["config.json", "generation_config.json", "model.safetensors"])
        let tensors = try rawTensors(out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(tensors.keys), Set(model.parameters.map(\.0)))
        XCTAssertTrue(tensors.values.allSatisfy { $0.0.dtype == .bfloat16 })
    }

    func testPlanKeepsOrderAndGivesAnOversizedTensorItsOwnShard() {
        let t = { (n: String, count: Int) in (name: n, shape: [count], dtype: DType.float32) }
        // 12, 120, 12, 12 bytes against a 25-byte limit.
        let plan = ShardPlan([t("a", 3), t("b", 30), t("d", 3), t("c", 3)], maxShardBytes: 25)
        XCTAssertEqual(plan.files.map(\.name), ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        XCTAssertEqual(plan.files.map { $0.entries.map(\.name) }, [["a"], ["b"], ["c", "d"]], "in order; names sorted within a file")
        XCTAssertEqual(plan.files[2].entries.map(\.bytes), [0..<12, 12..<24], "offsets tile the data section")
        XCTAssertEqual(plan.totalSize, 156)
        let one = ShardPlan([t("x", 3), t("y", 3)], maxShardBytes: 24)
        XCTAssertEqual(one.files.map(\.name), ["model.safetensors"], "exactly at the limit: one file")
    }

    func testShardSizesParseAsTransformersReadsThem() {
        XCTAssertEqual(ShardPlan.bytes(parsing: "5GB"), 5_000_000_000)
        XCTAssertEqual(ShardPlan.bytes(parsing: "500 mb"), 500_000_000)
        XCTAssertEqual(ShardPlan.bytes(parsing: "2GiB"), 2 << 30)
        XCTAssertEqual(ShardPlan.bytes(parsing: "1.5KB"), 1500)
        XCTAssertEqual(ShardPlan.bytes(parsing: "123456"), 123_456)
        for bad in ["", "GB", "-5GB", "5XB", "0", "five GB", "1e9"] { XCTAssertNil(ShardPlan.bytes(parsing: bad), bad) }
    }

    func testWritingOverExistingWeightsIsRefused() throws {
        let model = try tinyModel()
        try SafeTensors.write(model.parameters, into: dir, maxShardBytes: 6000)
        XCTAssertThrowsError(try SafeTensors.write(model.parameters, into: dir)) { error in
            XCTAssertTrue("\(error.localizedDescription)".contains("already holds weights"), error.localizedDescription)
        }
        XCTAssertThrowsError(try Checkpoint.save(model, to: dir.appendingPathComponent("f64"), dtype: .float64)) { error in
            XCTAssertTrue(error.localizedDescription.contains("float32, bfloat16 or float16"), error.localizedDescription)
        }
    }

    /// Tensors larger than a chunk are written a slice of rows at a time: a transposed
    /// (non-contiguous) one and an uneven last slice come back whole, in bf16 too.
    func testTensorsLargerThanAChunkAreWrittenInSlices() throws {
        let rows = SafeTensors.chunkBytes / (4 * 300) * 3 + 7
        let base = try Tensor.randn([300, rows], generator: Generator(seed: 2))
        let t = try base.transpose(0, 1)  // [rows, 300], about 3 chunks of rows in float32
        let odd = try Tensor.randn([rows * 300 + 1], generator: Generator(seed: 3))  // one dimension: slices of it
        for dtype in [DType.float32, .bfloat16] {
            let out = dir.appendingPathComponent("\(dtype)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try SafeTensors.write([("t", t), ("odd", odd), ("s", try Tensor.scalar(1.5))], into: out, dtype: dtype)
            let back = try SafeTensors.load(out.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(back["t"]?.shape, [rows, 300])
            XCTAssertEqual(try back["t"]?.bytes(), try t.to(dtype).contiguous().bytes(), "\(dtype)")
            XCTAssertEqual(try back["odd"]?.bytes(), try odd.to(dtype).bytes(), "\(dtype)")
            XCTAssertEqual(try back["s"]?.item(), 1.5)
        }
    }

    /// Streaming, measured: the resident-memory peak during a save, above what the process held
    /// before it, stays under a quarter of the model's size (building the file in memory, as
    /// before, took two model sizes). Figures for a larger model: evaluation/bench_export.py.
    func testSavePeakMemoryStaysFarBelowTheModelsSize() throws {
        guard let reset = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else {
            throw XCTSkip("no /proc/self/clear_refs (Linux 4.0+): the peak resident size cannot be reset here")
        }
        defer { try? reset.close() }
        // About 118 MB in float32; the largest tensor (embeddings, 8.4 MB) is 7% of it.
        let c = LlamaConfig(vocabSize: 4096, hiddenSize: 512, intermediateSize: 1376, numHiddenLayers: 8, numAttentionHeads: 8, numKeyValueHeads: 8)
        let model = try Llama(config: c, generator: Generator(seed: 1))
        let modelBytes = model.parameterCount * 4
        for dtype in [DType.float32, .bfloat16] {
            let out = dir.appendingPathComponent("\(dtype)")
            try reset.write(contentsOf: Data("5".utf8))
            let before = try procStatus("VmRSS")
            try Checkpoint.save(model, to: out, dtype: dtype)  // one file: the case a writer building it in memory hurts most
            let extra = try procStatus("VmHWM") - before
            XCTAssertLessThan(extra, modelBytes / 4, "\(dtype): the save's peak was \(extra) bytes above the \(before) before it (model \(modelBytes) bytes)")
            // The embeddings and head (8.4 MB each) went down in slices: they come back whole.
            let back = try Checkpoint.load(out, dtype: dtype)
            for name in ["model.embed_tokens.weight", "lm_head.weight"] {
                XCTAssertEqual(try back.weights[name]!.bytes(), try model.weights[name]!.to(dtype).bytes(), "\(dtype) \(name)")
            }
            try FileManager.default.removeItem(at: out)
        }
    }
}

/// A /proc/self/status field in bytes (the file gives kB).
func procStatus(_ field: String) throws -> Int {
    let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix(field + ":") }, field)
    return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")) * 1024
}
