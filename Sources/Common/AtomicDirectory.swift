import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Folders that appear whole or not at all (datasets, checkpoints): the content is built in a
/// hidden sibling, `.NAME.writing-PID-XXXX`, and only when that succeeded does it replace the
/// destination. The previous folder is moved aside (`.NAME.old-XXXX`) first and deleted only
/// once the new one is in place; if the process dies between the two renames, the next write
/// to the same destination puts the old folder back first.
///
/// A destination is replaced only when it is the kind of folder the caller writes (`owns`:
/// a dataset's manifest, a checkpoint's trainer state) or empty: anything else at that path is
/// the user's, and is refused with the path, never deleted.
public enum AtomicDirectory {
    public struct WriteError: LocalizedError, Equatable {
        public let path: String
        public let reason: String
        public var errorDescription: String? { "\(path): cannot write: \(reason)" }
    }

    /// Calls `build` with an empty staging folder, then moves it to `destination`. On error the
    /// staging folder is removed and `destination` is untouched. `what` names the kind of folder
    /// in the refusal ("a dataset folder (it holds manifest.json)").
    public static func write(to destination: URL, owns: (URL) -> Bool, what: String, _ build: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        recoverLeftovers(of: destination)
        if fm.fileExists(atPath: destination.path) {
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: destination.path, isDirectory: &isDirectory)
            let empty = isDirectory.boolValue && ((try? fm.contentsOfDirectory(atPath: destination.path))?.isEmpty ?? false)
            guard empty || (isDirectory.boolValue && owns(destination)) else {
                throw WriteError(path: destination.path, reason: "it exists and is not \(what); bcsft replaces only folders it wrote. "
                                     + "Choose a new path, or move this one away yourself")
            }
        }
        let staging = parent.appendingPathComponent(".\(name).writing-\(getpid())-\(UUID().uuidString.prefix(8))")
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

    /// What killed writes to `destination` left beside it: staging folders of processes that are
    /// gone are removed; a previous folder moved aside is put back if the destination is
    /// missing (the process died between the two renames), else removed.
    static func recoverLeftovers(of destination: URL) {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let siblings = (try? fm.contentsOfDirectory(atPath: parent.path)) ?? []
        for s in siblings where s.hasPrefix(".\(name).writing-") {
            // `.NAME.writing-PID-XXXX`; older builds wrote `.NAME.writing-XXXXXXXX` (no pid).
            let rest = s.dropFirst(".\(name).writing-".count).split(separator: "-")
            if rest.count == 2, let pid = Int32(rest[0]), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM { continue }
            try? fm.removeItem(at: parent.appendingPathComponent(s))
        }
        let aside = siblings.filter { $0.hasPrefix(".\(name).old-") }
        if !fm.fileExists(atPath: destination.path), aside.count == 1 {
            _ = rename(parent.appendingPathComponent(aside[0]).path, destination.path)
        } else {
            for a in aside { try? fm.removeItem(at: parent.appendingPathComponent(a)) }
        }
    }
}
