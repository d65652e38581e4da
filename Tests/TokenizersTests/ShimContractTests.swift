import Foundation
import TestSupport
import Tokenizers
import XCTest

/// The SentencePiece shim's contract as Swift sees it (shim/sentencepiece/include/cspm.h): a
/// library without the function table, or with another version of it, is refused with the reason
/// and the way to rebuild; results longer than the first buffer come back through the
/// CSPM_BUFFER_TOO_SMALL retry.
final class ShimContractTests: XCTestCase {
    func testALibraryWithoutTheFunctionTableIsRefused() throws {
        // glibc: mapped into every process, and it has no cspm_get_api.
        // (read to the end: procfs reports a size of 0)
        let maps = String(decoding: FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        guard let libc = maps.split(separator: "\n").compactMap({ $0.split(separator: " ").last.map(String.init) })
            .first(where: { $0.hasPrefix("/") && $0.hasSuffix("/libc.so.6") }) else { throw XCTSkip("glibc's file not found in /proc/self/maps") }
        var env = ProcessInfo.processInfo.environment
        env["BCSFT_SENTENCEPIECE_LIB"] = libc
        let (status, _, err) = try runProcess(try bcsftExecutable(), ["tokenizer", "encode", "--model", Fixture.referenceModel.path],
                                              input: Data("hi\n".utf8), environment: env)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(err.contains("no symbol cspm_get_api") && err.contains(libc) && err.contains("swift build --product SentencePieceShim"), err)
    }

    func testLongPiecesAndTextsComeBackThroughTheRetry() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // One piece of 100 bytes: longer than piece(forID:)'s first buffer (64) and decode's (ids * 8 + 16).
        let long = "<|" + String(repeating: "x", count: 96) + "|>"
        var trainer = SentencePieceTrainer(vocabularySize: 500)
        trainer.userDefinedSymbols = [long]
        let tok = try trainer.train(inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")],
                                    output: dir.appendingPathComponent("m.model"))
        let id = try XCTUnwrap(tok.id(forPiece: long))
        XCTAssertEqual(try tok.piece(forID: id), long)
        XCTAssertEqual(try tok.decode([id]), long)
        XCTAssertEqual(try tok.decode(tok.encode(long + long)), long + long)
    }
}
