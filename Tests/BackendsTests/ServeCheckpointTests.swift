import Foundation
import Models
import TestSupport
import Torch
import XCTest

/// `bcsft serve --checkpoint`: a request's max_tokens sizes the KV cache, so it is bounded by
/// what the model's context leaves after the prompt.
final class ServeCheckpointTests: XCTestCase {
    // max_tokens used to size the KV cache uncapped: a huge one allocated until the server was killed.
    func testMaxTokensBeyondTheContextIsRefused() throws {
        let tok = try markerTokenizer(vocabularySize: 400)
        let config = LlamaConfig(vocabSize: tok.vocabularySize, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                 numKeyValueHeads: 2, maxPositionEmbeddings: 64, bosTokenID: tok.bosID.map(Int.init), eosTokenID: tok.eosID.map(Int.init))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = dir.appendingPathComponent("ck")
        try Checkpoint.save(try Llama(config: config, generator: Generator(seed: 1)), to: ck, tokenizerFiles: try studentFiles(tok))
        let (p, url) = try startServe(["--checkpoint", ck.path])
        defer { p.terminate(); p.waitUntilExit() }
        let c = try RawConnection(port: url.port!, timeout: 20)

        c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Hi", ["max_tokens": 4, "temperature": 0])))
        let ok = try XCTUnwrap(c.readResponse())
        XCTAssertEqual(ok.status, 200, String(decoding: ok.body, as: UTF8.self))
        let promptTokens = try XCTUnwrap((ok.json?["usage"] as? [String: Any])?["prompt_tokens"] as? Int)
        XCTAssertLessThan(promptTokens, 64)

        // Past the context (but harmless to the unchanged server), then far past it.
        for maxTokens in [64 - promptTokens + 1, 1_000_000_000_000] {
            c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Hi", ["max_tokens": maxTokens, "temperature": 0])))
            let r = try XCTUnwrap(c.readResponse(), "max_tokens \(maxTokens): no answer")
            guard r.status == 400 else { return XCTFail("max_tokens \(maxTokens): HTTP \(r.status)") }
            XCTAssertTrue(r.errorMessage.contains("'max_tokens'") && r.errorMessage.contains("\(64 - promptTokens)"), r.errorMessage)
        }
        // Exactly what the context leaves is allowed.
        c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Hi", ["max_tokens": 64 - promptTokens, "temperature": 0])))
        XCTAssertEqual(c.readResponse()?.status, 200)
    }
}
