import Foundation

/// The rule for a folder a command writes its results into: a new or empty folder, or one
/// that holds what this command writes there (its `markers`), so a rerun may update it. Any
/// other folder is the user's, and writing into it is refused with the path.
public enum OutputFolder {
    public static func check(_ url: URL, markers: [String], what: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw FileError.cannotWrite(path: url.path, reason: "is a file, not a folder") }
        let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
        guard !names.isEmpty, !markers.contains(where: names.contains) else { return }
        throw FileError.cannotWrite(path: url.path, reason: "the folder holds other files and no \(markers.joined(separator: " or ")); "
                                        + "bcsft writes \(what) only into a new folder or one it wrote before. Choose another folder")
    }
}
