import Foundation

/// The pieces of a serialized SentencePiece model with their types, read from the protobuf
/// (sentencepiece_model.proto: ModelProto field 1 is the repeated SentencePiece, whose field 1
/// is the piece and field 3 the type). Only what the C++ API does not expose is read here.
enum SentencePieceModelPieces {
    enum PieceType: UInt64 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    struct Piece {
        var piece = ""
        var type = PieceType.normal
    }

    static func read(_ data: Data, source: String) throws -> [Piece] {
        let bytes = [UInt8](data)
        var pieces: [Piece] = []
        var reader = ProtoReader(bytes: bytes[...])
        while let (field, wire) = try reader.key(source) {
            if field == 1, wire == 2 {
                var inner = ProtoReader(bytes: try reader.lengthDelimited(source))
                var p = Piece()
                while let (f, w) = try inner.key(source) {
                    switch (f, w) {
                    case (1, 2): p.piece = String(decoding: try inner.lengthDelimited(source), as: UTF8.self)
                    case (3, 0): p.type = PieceType(rawValue: try inner.varint(source)) ?? .normal
                    default: try inner.skip(w, source)
                    }
                }
                pieces.append(p)
            } else {
                try reader.skip(wire, source)
            }
        }
        return pieces
    }
}

/// Protobuf wire format, as much as reading a model's pieces needs.
private struct ProtoReader {
    var bytes: ArraySlice<UInt8>

    mutating func key(_ source: String) throws -> (field: UInt64, wire: UInt64)? {
        guard !bytes.isEmpty else { return nil }
        let k = try varint(source)
        return (k >> 3, k & 7)
    }

    mutating func varint(_ source: String) throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while let b = bytes.popFirst() {
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            guard shift < 64 else { break }
        }
        throw TokenizerError.cannotLoad(path: source, reason: "not a SentencePiece model (a malformed protobuf varint)")
    }

    mutating func lengthDelimited(_ source: String) throws -> ArraySlice<UInt8> {
        let n = try varint(source)
        guard n <= UInt64(bytes.count) else { throw TokenizerError.cannotLoad(path: source, reason: "not a SentencePiece model (a protobuf field runs past the end)") }
        let out = bytes.prefix(Int(n))
        bytes = bytes.dropFirst(Int(n))
        return out
    }

    mutating func skip(_ wire: UInt64, _ source: String) throws {
        switch wire {
        case 0: _ = try varint(source)
        case 1, 5:
            let n = wire == 1 ? 8 : 4
            guard bytes.count >= n else { throw TokenizerError.cannotLoad(path: source, reason: "not a SentencePiece model (truncated)") }
            bytes = bytes.dropFirst(n)
        case 2: _ = try lengthDelimited(source)
        default: throw TokenizerError.cannotLoad(path: source, reason: "not a SentencePiece model (protobuf wire type \(wire))")
        }
    }
}
