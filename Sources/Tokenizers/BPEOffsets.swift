import Foundation

extension BPETokenizer {
    /// The same steps as `encode`, each keeping the bytes it came from: an added token covers
    /// its match and the whitespace its lstrip/rstrip took; text the normalizer changed is mapped
    /// back to the raw text (`NormalizedOffsets`); a BPE token covers its bytes within its
    /// pre-tokenizer piece, so one that ends inside a UTF-8 character covers the bytes it holds.
    /// The ranges tile the text (every byte under exactly one range) but where a Split with
    /// behavior Removed drops bytes. Empty ranges: a token holding only the space
    /// add_prefix_space adds, or only bytes after the first of a Character NFC changed, and a
    /// match inside whitespace an earlier rstrip took. `encode` stays apart so the dataset
    /// builder's hot path carries none of this bookkeeping.
    public func encodeWithOffsets(_ text: String) throws -> (ids: [Int32], offsets: [Range<Int>]) {
        let raw = Array(text.utf8)
        var ids: [Int32] = [], offsets: [Range<Int>] = []
        for span in rawMatcher.spans(raw) {
            if let id = span.token {
                ids.append(id)
                offsets.append(span.range)
                continue
            }
            let piece = String(decoding: raw[span.range], as: UTF8.self)
            let normalized = normalizer?.apply(piece) ?? piece
            let bytes = Array(normalized.utf8)
            let map = NormalizedOffsets(raw: piece, rawBytes: raw[span.range], normalized: normalized, normalizedBytes: bytes)
            func rawRange(_ r: Range<Int>) -> Range<Int> {
                let lower = span.range.lowerBound + map.raw(r.lowerBound)
                return lower..<(span.range.lowerBound + map.raw(r.upperBound))
            }
            for seg in normalizedMatcher.spans(bytes) {
                if let id = seg.token {
                    ids.append(id)
                    offsets.append(rawRange(seg.range))
                    continue
                }
                let segment = Array(bytes[seg.range])
                for word in preTokenizer.spans(segment) {
                    let tokens = try model.tokenizeWithStarts(word.bytes(of: segment))
                    let count = word.prefixSpace ? word.source.count + 1 : word.source.count
                    for (k, id) in tokens.ids.enumerated() {
                        let end = k + 1 < tokens.starts.count ? Int(tokens.starts[k + 1]) : count
                        let lower = seg.range.lowerBound + word.inputOffset(Int(tokens.starts[k]))
                        ids.append(id)
                        offsets.append(rawRange(lower..<(seg.range.lowerBound + word.inputOffset(end))))
                    }
                }
            }
        }
        // Ranges in order and disjoint whatever the tokenizer's options: a match that an earlier
        // token's rstrip already took keeps its id but gets no bytes of its own.
        var floor = 0
        for i in offsets.indices {
            let lower = max(offsets[i].lowerBound, floor)
            floor = max(offsets[i].upperBound, lower)
            offsets[i] = lower..<floor
        }
        return (ids, offsets)
    }
}

/// Byte offsets in a normalized text mapped to the raw text it came from. The two are aligned
/// by Characters, which NFC neither merges nor splits: a Character that normalization left as it
/// was maps byte for byte; one it changed maps as a whole, an offset inside it going to the raw
/// Character's end (the token holding its first byte covers it). Offsets stay on raw byte
/// boundaries and in order, so tokens' ranges still tile the raw text.
struct NormalizedOffsets {
    /// Raw offset by normalized offset (0...normalized count); nil when nothing changed.
    private let table: [Int]?

    init(raw: String, rawBytes: ArraySlice<UInt8>, normalized: String, normalizedBytes: [UInt8]) {
        guard !rawBytes.elementsEqual(normalizedBytes) else {
            table = nil
            return
        }
        let r = Array(raw), n = Array(normalized)
        var pairs: [(raw: String, normalized: String)]
        if r.count == n.count {
            pairs = zip(r, n).map { (String($0), String($1)) }
        } else {
            // Not expected of NFC: align the common ends Character by Character and map the
            // middle as one block.
            func same(_ a: Character, _ b: Character) -> Bool { a.utf8.elementsEqual(b.utf8) }
            var head = 0
            while head < min(r.count, n.count), same(r[head], n[head]) { head += 1 }
            var tail = 0
            while tail < min(r.count, n.count) - head, same(r[r.count - 1 - tail], n[n.count - 1 - tail]) { tail += 1 }
            pairs = zip(r[..<head], n[..<head]).map { (String($0), String($1)) }
            pairs.append((String(r[head..<(r.count - tail)]), String(n[head..<(n.count - tail)])))
            pairs += zip(r[(r.count - tail)...], n[(n.count - tail)...]).map { (String($0), String($1)) }
        }
        var table: [Int] = []
        table.reserveCapacity(normalizedBytes.count + 1)
        var at = 0
        for (rc, nc) in pairs {
            let (rl, nl) = (rc.utf8.count, nc.utf8.count)
            if rc.utf8.elementsEqual(nc.utf8) {
                table += at..<(at + nl)
            } else if nl > 0 {
                table.append(at)
                table += repeatElement(at + rl, count: nl - 1)
            }
            at += rl
        }
        table.append(at)
        self.table = table
    }

    func raw(_ offset: Int) -> Int { table?[offset] ?? offset }
}
