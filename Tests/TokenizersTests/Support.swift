import Foundation
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

/// The repository root, found from this file's path (Tests/TokenizersTests/Support.swift).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs a program, feeding `input` on stdin; returns (status, stdout, stderr).
@discardableResult
func runProcess(_ path: String, _ args: [String], input: Data = Data(), environment: [String: String]? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = errPipe
    try p.run()
    // Read both pipes while writing, so a large output cannot dead-lock the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var out = Data(), err = Data()
    DispatchQueue.global().async(group: group) { out = outPipe.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { err = errPipe.fileHandleForReading.readDataToEndOfFile() }
    inPipe.fileHandleForWriting.write(input)
    try inPipe.fileHandleForWriting.close()
    group.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// The bcsft executable SwiftPM built beside this test bundle.
func bcsftExecutable() throws -> String {
    let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let path = dir.appendingPathComponent("bcsft").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw XCTSkip("bcsft is not built at \(path); `make test` builds it before testing")
    }
    return path
}

/// Debian's python3 with sentencepiece, or nil (then parity-with-Python tests skip).
func pythonWithSentencePiece() -> String? {
    let py = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: py),
          let r = try? runProcess(py, ["-c", "import sentencepiece"]), r.0 == 0 else { return nil }
    return py
}
