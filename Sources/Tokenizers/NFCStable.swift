/// Scalars that NFC leaves alone in any context: each is its own NFC, has combining class 0,
/// and neither it nor the first scalar of its decomposition is ever the second of a canonical
/// composition. A text of such scalars only is already NFC (its decomposition reorders nothing
/// across them and composes nothing across them), so the normalizer can skip Foundation, whose
/// call and UTF-16 round trip cost as much as the rest of encoding. The ranges are the common
/// scripts of SFT text; NFCStableTests checks every scalar in them against Foundation.
/// Nothing before a stable scalar composes with it or reorders past it, so NFC can also be
/// applied piecewise, split before each stable scalar.
enum NFCStable {
    static func contains(_ v: UInt32) -> Bool {
        switch v {
        case 0...0x2FF, // ASCII, Latin-1, Latin Extended, spacing modifiers: below the first combining mark
             0x388...0x3FF, 0x400...0x482, // Greek (less the singletons before U+0388), Cyrillic letters
             0x2002...0x20CF, // punctuation, super/subscripts, currency (U+2000/U+2001 are singletons)
             0x2190...0x2328, 0x232B...0x23FF, 0x2500...0x27BF, // arrows, math, technical, shapes, dingbats
             0x3000...0x3029, 0x3030...0x3098, 0x309B...0x30FF, // CJK punctuation, kana (less the combining voicing marks)
             0x4E00...0x9FFF, // CJK unified ideographs
             0xAC00...0xD7A3, // Hangul syllables (the jamo that compose with them are outside)
             0xFE00...0xFE0F, // variation selectors
             0xFF01...0xFFEF, // halfwidth and fullwidth forms
             0x1F000...0x1FAFF: // emoji and pictographs
            return true
        default:
            return false
        }
    }

    /// NFC of `text` with `full` (a whole-string NFC) applied only where needed: to each run of
    /// unstable scalars with the stable scalar just before it, which may compose with the run.
    static func normalize(_ text: String, with full: (String) -> String) -> String {
        var bytes = text
        let changed: String? = bytes.withUTF8 { b in
            var out: [UInt8] = []
            var copied = 0 // bytes before it are in `out`
            var previous = -1 // where the stable scalar just before `i` starts
            var i = 0
            while i < b.count {
                let (v, length) = b.scalar(at: i)
                if contains(v) {
                    previous = i
                    i += length
                    continue
                }
                let start = previous >= 0 ? previous : i
                var end = i + length
                while end < b.count {
                    let (w, l) = b.scalar(at: end)
                    if contains(w) { break }
                    end += l
                }
                if out.isEmpty { out.reserveCapacity(b.count + 16) }
                out.append(contentsOf: b[copied..<start])
                out.append(contentsOf: full(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)).utf8)
                copied = end
                previous = -1
                i = end
            }
            if copied == 0 { return nil } // every scalar stable: NFC already
            out.append(contentsOf: b[copied...])
            return String(decoding: out, as: UTF8.self)
        }
        return changed ?? text
    }
}
