import Foundation

enum StageFiles {
    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try enc.encode(value).write(to: url, options: .atomic)
    }

    /// The newest `checkpoints/step-*` of a trainer's output folder, or the folder itself when
    /// it is a checkpoint (holds config.json).
    static func checkpoint(in dir: URL) throws -> URL {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir.appendingPathComponent("config.json").path) { return dir }
        let ckDir = dir.appendingPathComponent("checkpoints")
        let steps = ((try? fm.contentsOfDirectory(atPath: ckDir.path)) ?? []).filter { $0.hasPrefix("step-") }.sorted()
        guard let last = steps.last else {
            throw StageFailure("\(dir.path): neither a checkpoint (config.json) nor a trainer's output with checkpoints/step-*")
        }
        return ckDir.appendingPathComponent(last)
    }
}

struct StageFailure: LocalizedError {
    let message: String
    init(_ message: String) { self.message = message }
    var errorDescription: String? { message }
}
