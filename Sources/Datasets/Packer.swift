/// A tokenized document: one conversation's ids and loss mask.
public struct Document: Sendable {
    public var ids: [Int32]
    public var mask: [UInt8]
    public var count: Int { ids.count }
    public var lossTokens: Int { mask.reduce(0) { $0 + Int($1) } }
    public init(ids: [Int32], mask: [UInt8]) {
        precondition(ids.count == mask.count, "ids and mask differ in length")
        self.ids = ids
        self.mask = mask
    }
}

/// One packed row of `seqLen` tokens: whole documents back to back, then padding.
public struct PackedRow: Sendable {
    public var ids: [Int32]
    public var mask: [UInt8]
    /// (start, length) of each document in the row; positions restart and attention is
    /// blocked at each start.
    public var documents: [(start: Int, length: Int)]
    public var used: Int { documents.last.map { $0.start + $0.length } ?? 0 }
}

/// Online best-fit packing with a bounded number of open rows: each document goes into the
/// open row with the least room that still fits it, else into a new row; when more than
/// `maxOpenRows` are open, the fullest is emitted. Memory is bounded by maxOpenRows * seqLen
/// whatever the input size, and no document is ever split across rows.
public struct BestFitPacker {
    public let seqLen: Int
    public let padID: Int32
    public let maxOpenRows: Int

    private var rows: [PackedRow?] = []
    private var free: [Int] = []               // slots in `rows` that are empty
    private var byRoom: [[Int]]                // byRoom[r]: open rows with r tokens of room
    private var openCount = 0

    public init(seqLen: Int, padID: Int32, maxOpenRows: Int = 512) {
        precondition(seqLen > 0 && maxOpenRows > 0)
        self.seqLen = seqLen
        self.padID = padID
        self.maxOpenRows = maxOpenRows
        byRoom = Array(repeating: [], count: seqLen + 1)
    }

    /// Adds a document of at most seqLen tokens; returns rows that became complete.
    public mutating func add(_ doc: Document) -> [PackedRow] {
        precondition(doc.count > 0 && doc.count <= seqLen, "document length \(doc.count) outside 1...\(seqLen)")
        var room = doc.count
        while room <= seqLen, byRoom[room].isEmpty { room += 1 }
        let slot: Int
        if room <= seqLen {
            slot = byRoom[room].removeLast()
        } else {
            slot = free.popLast() ?? { rows.append(nil); return rows.count - 1 }()
            rows[slot] = PackedRow(ids: [], mask: [], documents: [])
            rows[slot]!.ids.reserveCapacity(seqLen)
            rows[slot]!.mask.reserveCapacity(seqLen)
            openCount += 1
        }
        let start = rows[slot]!.used
        rows[slot]!.ids += doc.ids
        rows[slot]!.mask += doc.mask
        rows[slot]!.documents.append((start, doc.count))
        let left = seqLen - rows[slot]!.used
        var done: [PackedRow] = []
        if left == 0 {
            done.append(close(slot))
        } else {
            byRoom[left].append(slot)
        }
        if openCount > maxOpenRows, let fullest = (1...seqLen).first(where: { !byRoom[$0].isEmpty }) {
            done.append(close(byRoom[fullest].removeLast()))
        }
        return done
    }

    /// Emits every open row (fullest first), e.g. at the end of the input.
    public mutating func flush() -> [PackedRow] {
        var out: [PackedRow] = []
        for r in 1...seqLen {
            while let slot = byRoom[r].popLast() { out.append(close(slot)) }
        }
        return out
    }

    private mutating func close(_ slot: Int) -> PackedRow {
        var row = rows[slot]!
        rows[slot] = nil
        free.append(slot)
        openCount -= 1
        let pad = seqLen - row.ids.count
        row.ids += [Int32](repeating: padID, count: pad)
        row.mask += [UInt8](repeating: 0, count: pad)
        return row
    }
}
