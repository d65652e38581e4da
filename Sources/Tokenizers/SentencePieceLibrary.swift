import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The SentencePiece shim, opened once per process with dlopen(RTLD_NOW | RTLD_LOCAL |
/// RTLD_DEEPBIND). DEEPBIND makes the shim and libsentencepiece resolve their own protobuf
/// symbols first, so they never bind to the protobuf that libtorch loaded (DESIGN.md, trap 1);
/// LOCAL keeps theirs out of the global namespace. The function types below mirror
/// shim/sentencepiece/include/cspm.h one for one.
public struct SentencePieceLibrary: @unchecked Sendable {
    typealias Handle = OpaquePointer
    typealias LastError = @convention(c) () -> UnsafePointer<CChar>?
    typealias Load = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<Handle?>?) -> Int32
    typealias LoadBytes = @convention(c) (UnsafeRawPointer?, Int, UnsafeMutablePointer<Handle?>?) -> Int32
    typealias Free = @convention(c) (Handle?) -> Void
    typealias Encode = @convention(c) (Handle?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<Int32>?, Int, UnsafeMutablePointer<Int>?) -> Int32
    typealias Decode = @convention(c) (Handle?, UnsafePointer<Int32>?, Int, UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>?) -> Int32
    typealias VocabSize = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias PieceToID = @convention(c) (Handle?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<Int32>?) -> Int32
    typealias IDToPiece = @convention(c) (Handle?, Int32, UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>?) -> Int32
    typealias SpecialIDs = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias IDKind = @convention(c) (Handle?, Int32, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias Train = @convention(c) (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> Int32

    static let ok: Int32 = 0
    static let bufferTooSmall: Int32 = 2
    static let fileName = "libSentencePieceShim.so"

    let path: String
    let lastError: LastError
    let load: Load
    let loadBytes: LoadBytes
    let free: Free
    let encode: Encode
    let decode: Decode
    let vocabSize: VocabSize
    let pieceToID: PieceToID
    let idToPiece: IDToPiece
    let specialIDs: SpecialIDs
    let idKind: IDKind
    let train: Train

    var message: String { lastError().map { String(cString: $0) } ?? "unknown error" }

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
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(h, name) else {
                throw TokenizerError.libraryNotFound(searched: [path], reason: "symbol \(name) missing")
            }
            return unsafeBitCast(p, to: T.self)
        }
        return SentencePieceLibrary(
            path: path,
            lastError: try sym("cspm_last_error", LastError.self),
            load: try sym("cspm_load", Load.self),
            loadBytes: try sym("cspm_load_from_bytes", LoadBytes.self),
            free: try sym("cspm_free", Free.self),
            encode: try sym("cspm_encode", Encode.self),
            decode: try sym("cspm_decode", Decode.self),
            vocabSize: try sym("cspm_vocab_size", VocabSize.self),
            pieceToID: try sym("cspm_piece_to_id", PieceToID.self),
            idToPiece: try sym("cspm_id_to_piece", IDToPiece.self),
            specialIDs: try sym("cspm_special_ids", SpecialIDs.self),
            idKind: try sym("cspm_id_kind", IDKind.self),
            train: try sym("cspm_train", Train.self)
        )
    }
}

extension SentencePieceLibrary {
    /// The path of the loaded shim (loading it if needed); throws with the places searched.
    public static func path() throws -> String { try shared().path }
}
