import Foundation

/// What a running stage gets: where to write, its settings and inputs, and ways to report.
public final class StageContext: Sendable {
    public let stage: String
    /// The folder to write into: `WORKDIR/STAGE.partial/`, which becomes `WORKDIR/STAGE/`
    /// only when `run` returns. A killed or failed attempt leaves it in place.
    public let output: URL
    /// The output folder holds what an earlier attempt with the same cache key left (a
    /// trainer's checkpoints, a response cache): pick up from it rather than start over.
    public let resuming: Bool
    public let settings: StageSettings
    public let inputs: StageInputs
    /// The run's folder (every stage's output lies in it).
    public let workdir: URL
    private let observer: any RunObserver
    private let cancellation: CancellationToken
    private let log: StageLog?

    init(stage: String, output: URL, resuming: Bool, settings: StageSettings, inputs: StageInputs, workdir: URL,
         observer: any RunObserver, cancellation: CancellationToken, log: StageLog?) {
        self.stage = stage
        self.output = output
        self.resuming = resuming
        self.settings = settings
        self.inputs = inputs
        self.workdir = workdir
        self.observer = observer
        self.cancellation = cancellation
        self.log = log
    }

    /// Reports how far the stage is: `fraction` in 0...1 (nil when unknown) and a short note
    /// ("step 40/100  loss 1.23"). Cheap; call it as often as convenient.
    public func progress(_ fraction: Double?, _ message: String = "") {
        observer.stageProgress(stage, fraction: fraction.map { min(max($0, 0), 1) }, message: message)
    }

    /// A line for the user and for `WORKDIR/STAGE.log`.
    public func log(_ message: String) {
        log?.append(message)
        observer.stageLog(stage, message)
    }

    /// True once the user asked to stop (Ctrl-C). Stop at the next point where the output
    /// folder is consistent; the next run resumes from it.
    public var isCancelled: Bool { cancellation.isCancelled || Task.isCancelled }

    /// Throws `CancellationError` once the user asked to stop.
    public func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Appends a stage's log lines to `WORKDIR/STAGE.log`, one header per attempt.
final class StageLog: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle?

    init(url: URL, header: String) {
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        handle = try? FileHandle(forWritingTo: url)
        _ = try? handle?.seekToEnd()
        append("== \(header)")
    }

    func append(_ line: String) {
        lock.withLock { try? handle?.write(contentsOf: Data((line + "\n").utf8)) }
    }

    func close() {
        lock.withLock { try? handle?.close() }
    }
}
