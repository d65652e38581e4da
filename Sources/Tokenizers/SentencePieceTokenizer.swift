import CSentencePieceAPI
import Crypto
import Common
import Foundation

/// A SentencePiece model (unigram or BPE), loaded through the dlopen'ed shim.
/// Encoding is thread-safe: `encode(batch:)` runs on every core.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    let lib: SentencePieceLibrary
    let handle: OpaquePointer
    /// The serialized model, kept to hash it and to copy it into checkpoints.
    public let modelData: Data
    public let sha256: String
    public let vocabularySize: Int
    public let bosID: Int32?
    public let eosID: Int32?
    public let padID: Int32?
    public let unknownID: Int32?
    /// Control pieces (<s>, </s>) and user-defined pieces (chat markers), by text.
    let specialPieceTable: [String: Int32]

    /// Loads a `.model` file.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do {
            try FileCheck.readable(url)
            data = try Data(contentsOf: url)
        } catch let FileError.cannotRead(_, reason) {
            throw TokenizerError.cannotLoad(path: url.path, reason: reason)
        } catch {
            throw TokenizerError.cannotLoad(path: url.path, reason: "cannot read file (\(error.localizedDescription))")
        }
        try self.init(modelData: data, source: url.path)
    }

    /// Loads a serialized model held in memory; `source` names it in errors.
    public init(modelData data: Data, source: String = "<memory>") throws {
        let lib = try SentencePieceLibrary.shared()
        self.lib = lib
        var h: OpaquePointer?
        let status = data.withUnsafeBytes { lib.api.load_from_bytes($0.baseAddress, $0.count, &h) }
        guard status == CSPM_OK, let h else {
            throw TokenizerError.cannotLoad(path: source, reason: lib.message)
        }
        handle = h
        modelData = data
        sha256 = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        var n: Int32 = 0
        _ = lib.api.vocab_size(h, &n)
        vocabularySize = Int(n)
        var bos: Int32 = -1, eos: Int32 = -1, pad: Int32 = -1, unk: Int32 = -1
        _ = lib.api.special_ids(h, &bos, &eos, &pad, &unk)
        func opt(_ v: Int32) -> Int32? { v >= 0 ? v : nil }
        (bosID, eosID, padID, unknownID) = (opt(bos), opt(eos), opt(pad), opt(unk))
        // The pieces' types are in the serialized model (SentencePiece's C++ API cannot tell a
        // user-defined piece from a normal one).
        var special: [String: Int32] = [:]
        for (id, p) in (try SentencePieceModelPieces.read(data, source: source)).enumerated() where p.type == .control || p.type == .userDefined {
            if !p.piece.isEmpty { special[p.piece] = Int32(id) }
        }
        specialPieceTable = special
    }

    deinit { lib.api.free(handle) }

    /// The name a model folder gives a SentencePiece model.
    public static let fileName = "tokenizer.model"

    /// The Hugging Face files a model folder keeps beside its tokenizer.model (Llama 2, Mistral,
    /// Gemma): they name the special tokens and hold the chat template, and `files` carries them
    /// into datasets and checkpoints. Set by `loadTokenizer(at:)` before the tokenizer is shared.
    public static let companionFileNames = [BPETokenizer.fileName, BPETokenizer.configFileName, "special_tokens_map.json"]
    public internal(set) var companionFiles: [String: Data] = [:]

    public var files: [String: Data] { companionFiles.merging([Self.fileName: modelData]) { $1 } }

    public var specialPieces: [String: Int32] { specialPieceTable }

    public var encodeParsesSpecialPieces: Bool { false }

    public func encode(_ text: String) throws -> [Int32] {
        var text = text
        text.makeContiguousUTF8()
        // Native strings are contiguous UTF-8: hand the bytes to the shim without a copy.
        // One id never covers less than one byte, so bytes + 1 ids suffice on the first call.
        let ids = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.withMemoryRebound(to: CChar.self) { t in
                withGrowingBuffer(of: Int32.self, initial: t.count + 1) { lib.api.encode(handle, t.baseAddress, t.count, $0, $1, $2) }
            }
        }
        guard let ids = ids ?? nil else { throw TokenizerError.encodeFailed(lib.message) }
        return ids
    }

    /// SentencePiece's own spans (cspm.h, encode_with_offsets): byte offsets in `text`, through
    /// its normalizer, in order and disjoint. The lone dummy prefix "▁" and the leading bytes of
    /// a byte-fallback character have empty ranges (the last byte's range covers the character);
    /// whitespace the normalizer removes (remove_extra_whitespaces) is under no range.
    public func encodeWithOffsets(_ text: String) throws -> (ids: [Int32], offsets: [Range<Int>]) {
        var text = text
        text.makeContiguousUTF8()
        let result = try text.utf8.withContiguousStorageIfAvailable { bytes in
            try bytes.withMemoryRebound(to: CChar.self) { t in
                // Bytes + 1 ids suffice but for NFKC expansions, which take the second call.
                var cap = t.count + 1
                for _ in 0..<2 {
                    var ids = [Int32](repeating: 0, count: cap)
                    var begins = [Int](repeating: 0, count: cap), ends = [Int](repeating: 0, count: cap)
                    var needed = 0
                    let status = lib.api.encode_with_offsets(handle, t.baseAddress, t.count, &ids, &begins, &ends, cap, &needed)
                    if status == CSPM_OK { return (Array(ids.prefix(needed)), (0..<needed).map { begins[$0]..<ends[$0] }) }
                    guard status == CSPM_BUFFER_TOO_SMALL else { break }
                    cap = needed
                }
                throw TokenizerError.encodeFailed(lib.message)
            }
        }
        // makeContiguousUTF8 above makes the storage available.
        guard let result else { throw TokenizerError.encodeFailed("the text's UTF-8 is not contiguous") }
        return result
    }

    public func decode(_ ids: [Int32]) throws -> String {
        for id in ids where id < 0 || Int(id) >= vocabularySize {
            throw TokenizerError.unknownID(id, vocabularySize: vocabularySize)
        }
        let bytes = withGrowingBuffer(of: CChar.self, initial: ids.count * 8 + 16) { lib.api.decode(handle, ids, ids.count, $0, $1, $2) }
        guard let bytes else { throw TokenizerError.decodeFailed(lib.message) }
        return String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func id(forPiece piece: String) -> Int32? {
        guard !piece.isEmpty else { return nil }
        var id: Int32 = -1
        let bytes = Array(piece.utf8).map { CChar(bitPattern: $0) }
        let status = bytes.withUnsafeBufferPointer { lib.api.piece_to_id(handle, $0.baseAddress, $0.count, &id) }
        guard status == CSPM_OK else { return nil }
        // PieceToId answers the unknown id for pieces it lacks; only the unknown piece itself maps there.
        if let unk = unknownID, id == unk, (try? self.piece(forID: unk)) != piece { return nil }
        return id
    }

    public func piece(forID id: Int32) throws -> String {
        guard id >= 0, Int(id) < vocabularySize else { throw TokenizerError.unknownID(id, vocabularySize: vocabularySize) }
        guard let bytes = withGrowingBuffer(of: CChar.self, initial: 64, { lib.api.id_to_piece(handle, id, $0, $1, $2) }) else {
            throw TokenizerError.decodeFailed(lib.message)
        }
        return String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether an id is a control symbol (<s>, </s>, <pad>): never produced by encode.
    public func isControl(_ id: Int32) -> Bool {
        var c: Int32 = 0, u: Int32 = 0, b: Int32 = 0
        return lib.api.id_kind(handle, id, &c, &u, &b) == CSPM_OK && c != 0
    }

    /// Calls a shim function with the "buffer, capacity, needed" contract (cspm.h), calling
    /// again with a buffer of the needed size when the first was too small. Nil on failure.
    private func withGrowingBuffer<T: Numeric>(of _: T.Type, initial: Int,
                                               _ call: (UnsafeMutablePointer<T>?, Int, UnsafeMutablePointer<Int>?) -> cspm_status) -> [T]? {
        var status = CSPM_OK
        var needed = 0
        // Uninitialized storage: the shim writes the first `needed` elements, the rest is cut.
        var buffer = [T](unsafeUninitializedCapacity: Swift.max(initial, 1)) { buf, count in
            status = call(buf.baseAddress, buf.count, &needed)
            count = status == CSPM_OK ? needed : 0
        }
        if status == CSPM_BUFFER_TOO_SMALL {
            buffer = [T](unsafeUninitializedCapacity: needed) { buf, count in
                status = call(buf.baseAddress, buf.count, &needed)
                count = status == CSPM_OK ? needed : 0
            }
        }
        guard status == CSPM_OK else { return nil }
        return buffer
    }
}
