import Foundation

/// tokenizer.json's `model` of type BPE over a byte-level vocabulary: words arrive as raw bytes,
/// and the vocabulary's byte-level strings are decoded to the bytes they stand for, so lookups
/// compare bytes (Swift's String equality would merge canonically equivalent tokens).
final class BPEModel: @unchecked Sendable {
    /// Token bytes to id.
    let vocab: [[UInt8]: Int32]
    /// Id to the token as the file spells it.
    let pieces: [Int32: String]
    /// (left id << 32 | right id) to (rank, merged id); the lowest rank merges first.
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let ignoreMerges: Bool
    let byteFallback: Bool
    let unknownID: Int32?
    let fuseUnknown: Bool
    /// The id of each byte's one-scalar token.
    private let byteIDs: [Int32?]
    /// Each encoding thread's cache of words already merged.
    private let caches = ThreadWordCaches()
    /// The bytes each id stands for, by id (-1 where none): offsets come from cached ids.
    private let byteLengths: [Int32]

    init(_ node: JSONNode) throws {
        let type = node["type"]
        guard try type.string() == "BPE" else { throw type.unsupported("model type \(try type.string()) (bcsft implements BPE)") }
        if !node["dropout"].isNull, (node["dropout"].value as? NSNumber)?.doubleValue != 0 {
            throw node["dropout"].unsupported("BPE dropout (encoding would be random)")
        }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] where !(try node[field].optionalString() ?? "").isEmpty {
            throw node[field].unsupported("a non-empty \(field)")
        }
        ignoreMerges = try node["ignore_merges"].bool(default: false)
        byteFallback = try node["byte_fallback"].bool(default: false)
        fuseUnknown = try node["fuse_unk"].bool(default: false)

        var vocab = [[UInt8]: Int32]()
        var pieces = [Int32: String]()
        var byName = [String: Int32]()
        for (token, idNode) in try node["vocab"].object() {
            let id = try idNode.int()
            guard let id32 = Int32(exactly: id), id32 >= 0 else { throw idNode.malformed("id \(id) out of range") }
            byName[token] = id32
            pieces[id32] = token
            // A byte-level vocabulary may hold tokens outside the alphabet (added tokens): no
            // word's bytes can spell them, so they stay out of the bytes table.
            if let key = ByteLevel.bytes(of: token) { vocab[key] = id32 }
        }
        self.vocab = vocab
        self.pieces = pieces

        var merges = [UInt64: (rank: Int32, id: Int32)]()
        for (rank, m) in try node["merges"].array().enumerated() {
            let pair: [String]
            if let s = m.value as? String {
                pair = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                guard pair.count == 2 else { throw m.malformed("a merge \"a b\" holds exactly one space") }
            } else {
                pair = try m.array().map { try $0.string() }
                guard pair.count == 2 else { throw m.malformed("a merge [\"a\", \"b\"] holds two strings") }
            }
            guard let a = byName[pair[0]], let b = byName[pair[1]] else { throw m.malformed("merge token not in model.vocab") }
            guard let merged = byName[pair[0] + pair[1]] else { throw m.malformed("merged token \(pair[0] + pair[1]) not in model.vocab") }
            // The reference builds a map from the list, so a repeated pair keeps its last rank.
            merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] = (Int32(rank), merged)
        }
        self.merges = merges

        let unk = try node["unk_token"].optionalString()
        if let unk {
            guard let id = byName[unk] else { throw node["unk_token"].malformed("\(unk) is not in model.vocab") }
            unknownID = id
        } else {
            unknownID = nil
        }
        byteIDs = (0..<256).map { byName[String(ByteLevel.scalarForByte[$0])] }
        var lengths = [Int32](repeating: -1, count: Int(vocab.values.max() ?? -1) + 1)
        for (bytes, id) in vocab { lengths[Int(id)] = Int32(bytes.count) }
        byteLengths = lengths
    }

    /// Appends the ids of one pre-tokenized word to `out`.
    func tokenize(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) throws {
        // A single byte is its one-scalar token: no merge applies to one symbol.
        if word.count == 1, let id = byteIDs[Int(word[0])] {
            out.append(id)
            return
        }
        let cache = caches.current
        if let cache, cache.append(word, to: &out) { return }
        let ids = try merge(Array(word)).ids
        cache?.insert(word, ids)
        out += ids
    }

    /// The ids of one pre-tokenized word.
    func tokenize(_ word: [UInt8]) throws -> [Int32] {
        var out: [Int32] = []
        try word.withUnsafeBufferPointer { try tokenize($0, into: &out) }
        return out
    }

    /// The ids of one pre-tokenized word, with the offset in `word` where each token's bytes
    /// start (a token ends where the next starts, the last at the word's end). The ids come
    /// through the word cache and the starts from their byte lengths; a word holding byte-fallback
    /// or unknown tokens (whose lengths are not their spelling's) is merged again for exact starts.
    func tokenizeWithStarts(_ word: [UInt8]) throws -> Tokens {
        let ids = try tokenize(word)
        var starts: [Int32] = []
        starts.reserveCapacity(ids.count)
        var at: Int32 = 0
        for id in ids {
            let n = Int(id) < byteLengths.count ? byteLengths[Int(id)] : -1
            guard n > 0, id != unknownID else { return try merge(word) }
            starts.append(at)
            at += n
        }
        return at == Int32(word.count) ? Tokens(ids: ids, starts: starts) : try merge(word)
    }

    struct Tokens {
        let ids: [Int32]
        let starts: [Int32]
    }

    /// The initial symbols, one per byte but where fuse_unk folds a run of unknown bytes into
    /// one, with the byte each starts at.
    private func initialSymbols(_ word: [UInt8]) throws -> (ids: [Int32], starts: [Int32]) {
        var ids: [Int32] = [], starts: [Int32] = []
        ids.reserveCapacity(word.count)
        starts.reserveCapacity(word.count)
        func unknown(_ what: String, at i: Int) throws {
            guard let unk = unknownID else {
                // The reference drops such a character without a trace; bcsft refuses instead.
                throw TokenizerError.encodeFailed("\(what) has no token in model.vocab and the model has no unk_token")
            }
            if !(fuseUnknown && ids.last == unk) {
                ids.append(unk)
                starts.append(Int32(i))
            }
        }
        for (i, b) in word.enumerated() {
            if let id = byteIDs[Int(b)] {
                ids.append(id)
                starts.append(Int32(i))
            } else if byteFallback, let id = vocab[Array(String(format: "<0x%02X>", b).utf8)] {
                ids.append(id)
                starts.append(Int32(i))
            } else {
                try unknown("byte 0x\(String(format: "%02X", b))", at: i)
            }
        }
        return (ids, starts)
    }

    /// Applies merges lowest rank first, the leftmost pair on ties, one merge at a time: a
    /// linked list of symbols and a heap of candidate pairs, stale entries skipped on pop. A
    /// merged symbol starts where its left part did.
    private func merge(_ word: [UInt8]) throws -> Tokens {
        if ignoreMerges, let id = vocab[word] { return Tokens(ids: [id], starts: [0]) }
        var (ids, starts) = try initialSymbols(word)
        if ids.count < 2 { return Tokens(ids: ids, starts: starts) }
        var next = Array(1...ids.count)
        next[ids.count - 1] = -1
        var prev = Array(-1..<(ids.count - 1))
        var alive = [Bool](repeating: true, count: ids.count)
        var heap = PairHeap()
        func push(_ l: Int) {
            let r = next[l]
            guard r >= 0, let m = merges[UInt64(UInt32(ids[l])) << 32 | UInt64(UInt32(ids[r]))] else { return }
            heap.push(.init(rank: m.rank, pos: Int32(l), merged: m.id))
        }
        for l in 0..<(ids.count - 1) { push(l) }
        while let top = heap.pop() {
            let l = Int(top.pos)
            let r = next[l]
            guard alive[l], r >= 0,
                  let m = merges[UInt64(UInt32(ids[l])) << 32 | UInt64(UInt32(ids[r]))], m.id == top.merged else { continue }
            ids[l] = m.id
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            if prev[l] >= 0 { push(prev[l]) }
            push(l)
        }
        let kept = ids.indices.filter { alive[$0] }
        starts = kept.map { starts[$0] }
        return Tokens(ids: kept.map { ids[$0] }, starts: starts)
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
struct PairHeap {
    struct Entry {
        let rank: Int32
        let pos: Int32
        let merged: Int32
        func before(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : pos < o.pos }
    }

    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i].before(items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let (a, b) = (2 * i + 1, 2 * i + 2)
            var m = i
            if a < items.count, items[a].before(items[m]) { m = a }
            if b < items.count, items[b].before(items[m]) { m = b }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
