import Datasets
import Foundation
@_exported import TestSupport
import Tokenizers
import XCTest

/// The tokenizers the dataset tests use (shared, trained once per process).
enum TestTokenizer {
    static func get() throws -> SentencePieceTokenizer { try markerTokenizer(vocabularySize: 600) }
    /// Another model (different vocabulary size, so a different hash).
    static func other() throws -> SentencePieceTokenizer { try markerTokenizer(vocabularySize: 500) }
}

func writeJSONL(_ lines: [String], to url: URL) throws {
    try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
}

func records(_ n: Int, seed: Int = 0) -> [SFTRecord] {
    var g = seed
    func next() -> Int { g = (g &* 1_103_515_245 &+ 12345) & 0x7fff_ffff; return g }
    return (0..<n).map { i in
        let a = next() % 90 + 2, b = next() % 90 + 2
        let words = String(repeating: " and then we check it", count: next() % 5)
        if i % 2 == 0 {
            return SFTRecord(id: "r\(i)", messages: [.user("What is \(a) + \(b)?"), .assistant("\(a) + \(b) = \(a + b)\(words). Answer: \(a + b).")])
        }
        return SFTRecord(id: "r\(i)", messages: [.system("Be brief."), .user("Multiply \(a) by \(b)."),
                                                  .assistant("\(a * b)\(words)."), .user("Why?"), .assistant("Because \(a) × \(b) = \(a * b).")])
    }
}
