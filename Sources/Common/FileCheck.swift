import Foundation

/// What a reader checks before it opens a path it was given: that it names a file, not a
/// folder, a device (`/dev/urandom` never ends) or a socket, so the error says that instead of
/// Foundation's "error 256".
public enum FileCheck {
    /// Throws `FileError.cannotRead` unless `url` exists and is a regular file or a pipe.
    public static func readable(_ url: URL) throws {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            throw FileError.cannotRead(path: url.path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFIFO: return
        case S_IFDIR: throw FileError.cannotRead(path: url.path, reason: "is a folder, not a file")
        default: throw FileError.cannotRead(path: url.path, reason: "is not a regular file (a device or a socket)")
        }
    }
}
