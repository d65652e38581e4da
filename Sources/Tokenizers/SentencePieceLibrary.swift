import CSentencePieceAPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The SentencePiece shim, opened once per process with dlopen(RTLD_NOW | RTLD_LOCAL |
/// RTLD_DEEPBIND). DEEPBIND makes the shim and libsentencepiece resolve their own protobuf
/// symbols first, so they never bind to the protobuf that libtorch loaded
/// (docs/design.md, trap 1); LOCAL keeps theirs out of the global namespace. One symbol is
/// looked up, `cspm_get_api`: the function table it returns has its type from
/// shim/sentencepiece/include/cspm.h (the header-only module CSentencePieceAPI, which links
/// nothing), so the compiler checks every call made through `api`.
public struct SentencePieceLibrary: @unchecked Sendable {
    static let fileName = "libSentencePieceShim.so"

    let path: String
    /// The shim's functions. The table is static in the library, which is never closed.
    let api: cspm_api

    /// The message of the last failed call on this thread.
    var message: String { api.last_error().map { String(cString: $0) } ?? "unknown error" }

    /// The process-wide instance, loaded on first use.
    static func shared() throws -> SentencePieceLibrary { try cached.get() }

    private static let cached: Result<SentencePieceLibrary, Error> = Result { try open() }

    /// Where to look, in order: BCSFT_SENTENCEPIECE_LIB, next to the running executable
    /// (SwiftPM puts the product beside bcsft and beside the test bundle), then the build
    /// folders of a checkout in the current directory.
    static func candidates() -> [String] {
        // An explicit path is the only candidate: silently falling back would hide a typo.
        if let p = ProcessInfo.processInfo.environment["BCSFT_SENTENCEPIECE_LIB"], !p.isEmpty { return [p] }
        var paths: [String] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        paths.append(exe.appendingPathComponent(fileName).path)
        let cwd = FileManager.default.currentDirectoryPath
        for config in ["release", "debug"] { paths.append("\(cwd)/.build/\(config)/\(fileName)") }
        return paths
    }

    private static func open() throws -> SentencePieceLibrary {
        let searched = candidates()
        guard let path = searched.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TokenizerError.libraryNotFound(searched: searched, reason: "file not found")
        }
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) else {
            throw TokenizerError.libraryNotFound(searched: [path], reason: String(cString: dlerror()))
        }
        func refuse(_ reason: String) -> TokenizerError { .libraryNotFound(searched: [path], reason: reason) }
        guard let symbol = dlsym(h, "cspm_get_api") else {
            throw refuse("no symbol cspm_get_api: not a SentencePiece shim of this build")
        }
        guard let table = unsafeBitCast(symbol, to: cspm_get_api_fn.self)() else { throw refuse("cspm_get_api returned NULL") }
        // The version and the size lead every version of the table: check them before reading the rest.
        let version = table.pointee.abi_version, size = Int(table.pointee.struct_size)
        guard version == UInt32(CSPM_API_VERSION), size == MemoryLayout<cspm_api>.size else {
            throw refuse("its function table is version \(version) (\(size) bytes) but this build needs version "
                + "\(CSPM_API_VERSION) (\(MemoryLayout<cspm_api>.size) bytes): a shim from another build")
        }
        return SentencePieceLibrary(path: path, api: table.pointee)
    }
}

extension SentencePieceLibrary {
    /// The path of the loaded shim (loading it if needed); throws with the places searched.
    public static func path() throws -> String { try shared().path }
}
