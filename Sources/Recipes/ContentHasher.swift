import Crypto
import Foundation

/// SHA-256 of input files and folders that are not stage outputs, for the cache keys. A folder's
/// hash covers every file's relative path and content, in sorted order. Hashes are remembered
/// in `WORKDIR/.input-hashes.json` by path, size, inode and modification time, so a 10 GB
/// teacher checkpoint is read once, not on every run; a file modified in the last few seconds
/// is always read (its time stamp may not yet tell a later edit apart).
final class ContentHasher {
    private struct Entry: Codable, Equatable {
        var size: UInt64
        var inode: UInt64
        var modified: Double
        var sha256: String
    }

    private let cacheURL: URL?
    private var cache: [String: Entry] = [:]
    private var changed = false

    init(cacheURL: URL?) {
        self.cacheURL = cacheURL
        if let cacheURL, let data = try? Data(contentsOf: cacheURL),
           let c = try? JSONDecoder().decode([String: Entry].self, from: data) {
            cache = c
        }
    }

    /// The hash of a file, or of a folder's files and their relative paths.
    func hash(_ url: URL) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw RecipeError.io(path: url.path, reason: "does not exist")
        }
        guard isDir.boolValue else { return try fileHash(url) }
        var h = SHA256()
        let root = url.resolvingSymlinksInPath()
        let rels = (try FileManager.default.subpathsOfDirectory(atPath: root.path)).sorted()
        for rel in rels {
            let child = root.appendingPathComponent(rel)
            var childIsDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: child.path, isDirectory: &childIsDir), !childIsDir.boolValue else { continue }
            h.update(data: Data("\(rel)\u{0}\(try fileHash(child))\n".utf8))
        }
        return Self.hex(h.finalize())
    }

    /// Writes the remembered hashes back (best effort: losing them costs only time).
    func save() {
        guard changed, let cacheURL else { return }
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        if let data = try? enc.encode(cache) { try? data.write(to: cacheURL, options: .atomic) }
    }

    private func fileHash(_ url: URL) throws -> String {
        let path = url.resolvingSymlinksInPath().path
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs[.size] as? NSNumber)?.uint64Value ?? 0
        let inode = (attrs[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        let modified = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        if let e = cache[path], e.size == size, e.inode == inode, e.modified == modified { return e.sha256 }

        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RecipeError.io(path: path, reason: "cannot read")
        }
        defer { try? handle.close() }
        var h = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { h.update(data: chunk) }
        let digest = Self.hex(h.finalize())
        if Date().timeIntervalSince1970 - modified > 3 {
            cache[path] = Entry(size: size, inode: inode, modified: modified, sha256: digest)
            changed = true
        }
        return digest
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
