import Foundation
import TestSupport
import XCTest

enum Fixture {
    static var dir: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
    static var referenceModel: URL { dir.appendingPathComponent("reference.model") }
    /// parity.txt split on "\n" only (the last, empty piece after the final newline dropped).
    static func parityLines() throws -> [String] {
        let text = try String(contentsOf: dir.appendingPathComponent("parity.txt"), encoding: .utf8)
        return Array(text.components(separatedBy: "\n").dropLast())
    }
    static func parityIDs() throws -> [[Int32]] {
        let text = try String(contentsOf: dir.appendingPathComponent("parity_ids.txt"), encoding: .utf8)
        return text.components(separatedBy: "\n").dropLast().map { $0.split(separator: " ").map { Int32($0)! } }
    }
}

/// Debian's python3 with sentencepiece, or nil (then parity-with-Python tests skip).
func pythonWithSentencePiece() -> String? {
    let py = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: py),
          let r = try? runProcess(py, ["-c", "import sentencepiece"]), r.0 == 0 else { return nil }
    return py
}
