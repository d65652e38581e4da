import Datasets
import Foundation
import Tokenizers
import XCTest

/// The repository root, found from this file's path (Tests/TestSupport/TestSupport.swift).
public let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh folder under the system temporary directory; callers remove it.
public func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bcsft-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs a program, feeding `input` on stdin; returns (status, stdout, stderr).
@discardableResult
public func runProcess(_ path: String, _ args: [String], input: Data = Data(), environment: [String: String]? = nil) throws -> (Int32, String, String) {
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
public func bcsftExecutable() throws -> String {
    let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let path = dir.appendingPathComponent("bcsft").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw XCTSkip("bcsft is not built at \(path); scripts/test builds it before testing")
    }
    return path
}

/// A SentencePiece model with the bcsft chat template's markers, trained on the shipped smoke
/// corpus once per vocabulary size and test process.
public func markerTokenizer(vocabularySize: Int) throws -> SentencePieceTokenizer {
    TokenizerCache.lock.lock()
    defer { TokenizerCache.lock.unlock() }
    if let t = TokenizerCache.models[vocabularySize] { return t }
    var trainer = SentencePieceTrainer(vocabularySize: vocabularySize)
    trainer.userDefinedSymbols = ChatTemplate.default.markers
    let t = try trainer.train(inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")],
                              output: try temporaryDirectory().appendingPathComponent("markers-\(vocabularySize).model"))
    TokenizerCache.models[vocabularySize] = t
    return t
}

private enum TokenizerCache {
    nonisolated(unsafe) static var models: [Int: SentencePieceTokenizer] = [:]
    static let lock = NSLock()
}
