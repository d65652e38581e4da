/// GPT-2's byte-level alphabet: every byte maps to a printable Unicode scalar, so a byte-level
/// BPE vocabulary stores byte strings as text. Bytes that are already printable and not space
/// (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68 take U+0100 onwards in
/// byte order.
enum ByteLevel {
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let byteForScalar: [Unicode.Scalar: UInt8] = {
        var map = [Unicode.Scalar: UInt8]()
        for (b, s) in scalarForByte.enumerated() { map[s] = UInt8(b) }
        return map
    }()

    /// The bytes a byte-level string stands for; nil when a scalar is outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            guard let b = byteForScalar[s] else { return nil }
            out.append(b)
        }
        return out
    }

    static func text(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarForByte[Int(b)]) }
        return String(s)
    }
}
