import Foundation
import Models
import Settings
import TestSupport
import Torch
import XCTest

/// Model files from anywhere: every size in a safetensors header is checked before it is used,
/// tensors must tile the data (no overlap, no gap), shards stay in their folder, and generation
/// never sizes its cache past the model's context, whatever budget a request asks for.
final class ModelFileHardeningTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A safetensors file with this header JSON (as given) and `data` bytes after it.
    func file(header: String, headerLength: UInt64? = nil, data: Int) throws -> URL {
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(Data(count: data))
        let url = dir.appendingPathComponent("m-\(UUID().uuidString.prefix(6)).safetensors")
        try bytes.write(to: url)
        return url
    }

    func expect(_ fragment: String, header: String, headerLength: UInt64? = nil, data: Int = 16, line: UInt = #line) throws {
        let url = try file(header: header, headerLength: headerLength, data: data)
        XCTAssertThrowsError(try SafeTensors.load(url), line: line) { error in
            XCTAssertTrue(error.localizedDescription.contains(fragment), error.localizedDescription, line: line)
        }
    }

    func testHostileHeadersAreErrorsNotTraps() throws {
        let ok = #"{"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}"#
        XCTAssertEqual(try SafeTensors.load(try file(header: ok, data: 16))["a"]?.shape, [2, 2])
        try expect("header length 18446744073709551615 does not fit", header: ok, headerLength: UInt64.max)
        try expect("header length 18446744073709551600 does not fit", header: ok, headerLength: UInt64.max - 15)
        try expect("data offset 9223372036854775807 is not a size",
                   header: #"{"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [9223372036854775807, 9223372036854775807]}}"#)
        try expect("has more elements than can be addressed",
                   header: #"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 16]}}"#)
        try expect("dimension -2 is not a size", header: #"{"a": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}"#)
        try expect("tensor 'b' overlaps the tensor before it",
                   header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#)
        try expect("belong to no tensor", header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#)
        try expect("holds 8 bytes after the last tensor", header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#)
        try expect("header: key 'a' appears twice",
                   header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#)
    }

    func testShardsOutsideTheFolderAreRefused() throws {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try #"{"weight_map": {"model.embed_tokens.weight": "../../../../etc/passwd"}}"#.write(
            to: model.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafeTensors.loadFolder(model)) { error in
            XCTAssertTrue(error.localizedDescription.contains("weight_map names '../../../../etc/passwd': a shard must be a .safetensors file in the folder"),
                          error.localizedDescription)
        }
    }

    func testAConfigWithAKeyWrittenTwiceIsAnError() throws {
        let json = #"{"vocab_size": 32, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_hidden_layers": 1000000000}"#
        XCTAssertThrowsError(try LlamaConfig.decode(Data(json.utf8), source: "config.json")) { error in
            XCTAssertEqual(error.localizedDescription, "config.json: key 'num_hidden_layers' appears twice")
        }
    }

    func testGenerationStopsAtTheModelsContextWhateverTheBudget() throws {
        var config = LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2,
                                 numKeyValueHeads: 2, bosTokenID: 1, eosTokenID: 2)
        config.maxPositionEmbeddings = 24
        let m = try Llama(config: config, generator: Generator(seed: 1))
        let r = try m.generate(prompts: [[1, 5, 9, 3]], Sampling(temperature: 0, maxTokens: 1_000_000_000_000))[0]
        XCTAssertEqual(r.ids.count, 20, "24 positions, 4 of them the prompt")
        XCTAssertEqual(r.finishReason, .length)
    }
}
