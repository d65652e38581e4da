import Foundation

/// The built-in `shell` kind: runs `settings.command` with `/bin/sh -c` in the current
/// directory. `${out}` in the command is the stage's output (scratch) folder; the environment
/// also carries `BCSFT_OUT`, `BCSFT_STAGE`, `BCSFT_RESUMING` (1 or 0) and `BCSFT_INPUT_<NAME>`
/// for each input (upper-cased; a list is joined with ':'). Output lines go to the stage log. A
/// non-zero exit fails the stage; Ctrl-C sends the command SIGINT.
///
/// ```yaml
/// corpus:
///   kind: shell
///   inputs: {text: data/smoke/corpus.txt}
///   settings: {command: 'head -n 100 "$BCSFT_INPUT_TEXT" > ${out}/corpus.txt'}
/// ```
public struct ShellStage: StageKind {
    public let name = "shell"
    public let version = "1"
    public let settingKeys: Set<String> = ["command"]

    public init() {}

    public struct Failed: LocalizedError {
        public let stage: String
        public let status: Int32
        public let lastLines: [String]
        public var errorDescription: String? {
            "stage \(stage): command exited with status \(status)"
                + (lastLines.isEmpty ? "" : "; its last output:\n" + lastLines.map { "    " + $0 }.joined(separator: "\n"))
        }
    }

    public func validate(_ settings: StageSettings, inputs: StageInputs) throws {
        let command: String = try settings.value("command")
        if command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw settings.error("command", "is empty") }
    }

    public func run(_ context: StageContext) async throws {
        let command: String = try context.settings.value("command")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var env = ProcessInfo.processInfo.environment
        env["BCSFT_OUT"] = context.output.path
        env["BCSFT_STAGE"] = context.stage
        env["BCSFT_RESUMING"] = context.resuming ? "1" : "0"
        for (name, urls) in context.inputs.paths {
            let key = "BCSFT_INPUT_" + String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
            env[key] = urls.map(\.path).joined(separator: ":")
        }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice

        let tail = LineTail(keep: 10)
        let reader = Thread {
            let handle = pipe.fileHandleForReading
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...nl)
                    tail.add(line)
                    context.log(line)
                }
            }
            if !pending.isEmpty {
                let line = String(decoding: pending, as: UTF8.self)
                tail.add(line)
                context.log(line)
            }
            tail.finish()
        }

        let status: Int32 = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Int32, Error>) in
                process.terminationHandler = { done.resume(returning: $0.terminationStatus) }
                do {
                    try process.runWithSignalsUnblocked()
                    reader.start()
                } catch {
                    process.terminationHandler = nil
                    done.resume(throwing: error)
                }
            }
        } onCancel: {
            if process.isRunning { process.interrupt() }
        }
        // Output still buffered in the pipe; a command that left a background job holding it
        // open must not hang the stage.
        tail.wait(seconds: 2)
        try context.checkCancellation()
        guard status == 0 else { throw Failed(stage: context.stage, status: status, lastLines: tail.lines) }
    }
}

/// The last lines a command printed, for the error message; and a way to wait for its end.
private final class LineTail: @unchecked Sendable {
    private let lock = NSLock()
    private let keep: Int
    private var buffer: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(keep: Int) { self.keep = keep }

    func add(_ line: String) {
        lock.withLock {
            buffer.append(line)
            if buffer.count > keep { buffer.removeFirst() }
        }
    }

    var lines: [String] { lock.withLock { buffer } }
    func finish() { done.signal() }
    func wait(seconds: Double) { _ = done.wait(timeout: .now() + seconds) }
}
