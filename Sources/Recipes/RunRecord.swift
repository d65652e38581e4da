import Foundation

/// `WORKDIR/run.json`: the last run of a recipe, rewritten as each stage finishes, so even a
/// killed run leaves a record of what completed.
public struct RunRecord: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case running, completed, failed, interrupted
    }

    public var recipe: String
    public var name: String
    public var workdir: String
    public var status: Status
    public var started: Date
    public var finished: Date?
    public var durationSeconds: Double?
    public var stages: [StageRecord]

    enum CodingKeys: String, CodingKey {
        case recipe, name, workdir, status, started, finished, stages
        case durationSeconds = "duration_s"
    }

    public static func read(workdir: URL) -> RunRecord? {
        guard let data = try? Data(contentsOf: workdir.appendingPathComponent("run.json")) else { return nil }
        return try? JSONCoding.decoder.decode(RunRecord.self, from: data)
    }

    func write(workdir: URL) throws {
        try JSONCoding.write(self, to: workdir.appendingPathComponent("run.json"))
    }

    public func stage(_ name: String) -> StageRecord? { stages.first { $0.name == name } }
}

public struct StageRecord: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        /// Waiting for its turn.
        case pending
        case running
        /// Its output was already complete for the same key.
        case cached
        case completed
        case failed
        /// Stopped by Ctrl-C; its scratch folder is kept for the next run.
        case interrupted
        /// Not run: not selected (`--only`), or an earlier stage failed or was interrupted.
        case skipped
    }

    public var name: String
    public var kind: String
    public var key: String
    public var status: Status
    /// Why the stage runs or is cached ("settings changed: lr", "up to date").
    public var reason: String
    public var resumed: Bool
    public var started: Date?
    public var finished: Date?
    public var durationSeconds: Double?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case name, kind, key, status, reason, resumed, started, finished, error
        case durationSeconds = "duration_s"
    }
}
