import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Folders that appear whole or not at all (datasets, checkpoints): the content is built in a
/// hidden sibling, and only when that succeeded does it replace the destination. The previous
/// folder is moved aside first and deleted only once the new one is in place, so a crash at
/// any point leaves a complete folder (old or new) under the destination's name.
public enum AtomicDirectory {
    public struct WriteError: LocalizedError, Equatable {
        public let path: String
        public let reason: String
        public var errorDescription: String? { "\(path): cannot write: \(reason)" }
    }

    /// Calls `build` with an empty staging folder, then moves it to `destination`.
    /// On error the staging folder is removed and `destination` is untouched.
    public static func write(to destination: URL, _ build: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(name).writing-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        var committed = false
        defer { if !committed { try? fm.removeItem(at: staging) } }
        try build(staging)
        var old: URL?
        if fm.fileExists(atPath: destination.path) {
            let aside = parent.appendingPathComponent(".\(name).old-\(UUID().uuidString.prefix(8))")
            guard rename(destination.path, aside.path) == 0 else {
                throw WriteError(path: destination.path, reason: "cannot move the previous folder aside: \(String(cString: strerror(errno)))")
            }
            old = aside
        }
        guard rename(staging.path, destination.path) == 0 else {
            throw WriteError(path: destination.path, reason: String(cString: strerror(errno)))
        }
        committed = true
        if let old { try? fm.removeItem(at: old) }
    }
}
