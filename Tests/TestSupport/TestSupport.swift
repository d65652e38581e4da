import ChatTemplates
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
public func runProcess(_ path: String, _ args: [String], input: Data = Data(), environment: [String: String]? = nil,
                       currentDirectory: URL? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    if let currentDirectory { p.currentDirectoryURL = currentDirectory }
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

/// Starts a program in the background with its output discarded (for tests that kill it);
/// the caller waits for it.
public func launch(_ path: String, _ args: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    if let currentDirectory { p.currentDirectoryURL = currentDirectory }
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
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

/// `bcsft serve ARGS --port 0` started and ready: the process (terminate it) and its base URL.
public func startServe(_ args: [String]) throws -> (Process, URL) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try bcsftExecutable())
    p.arguments = ["serve"] + args + ["--port", "0"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    var line = Data()
    while !line.contains(0x0A) {
        let d = out.fileHandleForReading.availableData
        if d.isEmpty { break }
        line.append(d)
    }
    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.hasPrefix("listening on "), let url = URL(string: String(text.dropFirst("listening on ".count))) else {
        p.terminate()
        throw XCTSkip("bcsft serve did not start: '\(text)'")
    }
    return (p, url)
}

/// A SentencePiece model with the bcsft chat template's markers, trained on the shipped smoke
/// corpus once per vocabulary size and test process.
public func markerTokenizer(vocabularySize: Int) throws -> SentencePieceTokenizer {
    TokenizerCache.lock.lock()
    defer { TokenizerCache.lock.unlock() }
    if let t = TokenizerCache.models[vocabularySize] { return t }
    var trainer = SentencePieceTrainer(vocabularySize: vocabularySize)
    trainer.userDefinedSymbols = ChatTemplate.markers(ofBuiltin: "bcsft")
    let t = try trainer.train(inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")],
                              output: try temporaryDirectory().appendingPathComponent("markers-\(vocabularySize).model"))
    TokenizerCache.models[vocabularySize] = t
    return t
}

private enum TokenizerCache {
    nonisolated(unsafe) static var models: [Int: SentencePieceTokenizer] = [:]
    static let lock = NSLock()
}

/// A scripted OpenAI-compatible server (Tests/TeachersTests/Fixtures/scripted_openai_server.py)
/// on loopback, with fault injection by keyword; see the script's header.
public final class ScriptedServer {
    let process = Process()
    let stdin = Pipe()
    public let port: Int
    public var url: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    /// `script`: another fixture server of the same protocol (port on stdout's first line,
    /// exits when stdin closes), relative to the repository.
    public init(script: String = "Tests/TeachersTests/Fixtures/scripted_openai_server.py", arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repoRoot.appendingPathComponent(script).path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = stdin
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw XCTSkip("could not start the scripted server with /usr/bin/python3")
        }
        port = p
    }

    /// GET `path` on the server, as JSON (the fixtures' /debug endpoints).
    public func debug(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(string: "http://127.0.0.1:\(port)\(path)")!))
    }

    public func stats() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/debug/stats")!)
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}


/// The files a student trained by bcsft on a `bcsft`-template dataset carries: its tokenizer and
/// the chat template record, so a local backend renders its prompts as it was trained.
public func studentFiles(_ tok: any Tokenizer) throws -> [String: Data] {
    tok.files.merging(try ChatTemplateRecord.files(of: try ChatEncoder(setting: "bcsft", tokenizer: tok, modelFolder: nil)), uniquingKeysWith: { $1 })
}
