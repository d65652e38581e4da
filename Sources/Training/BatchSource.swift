import Common
import Datasets
import Torch

/// Training batches from packed rows, in an order fixed by the seed: each epoch is a
/// Fisher-Yates permutation drawn from SplitMix64(seed, epoch), so the row at any cursor
/// position can be recomputed after a restart without stored RNG state.
struct BatchSource {
    let data: PackedDataset
    let split: String
    let seed: UInt64
    let rows: Int
    private var permEpoch = -1
    private var perm: [Int] = []

    init(data: PackedDataset, split: String, seed: UInt64) throws {
        self.data = data
        self.split = split
        self.seed = seed
        rows = data.rows(split)
        guard rows > 0 else { throw TrainingError.noData("\(data.directory.path): split '\(split)' has no rows") }
    }

    /// The row index (within the split) at a global cursor position.
    mutating func row(at cursor: Int) -> Int {
        let epoch = cursor / rows
        if epoch != permEpoch {
            var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
            perm = Array(0..<rows)
            for i in stride(from: rows - 1, to: 0, by: -1) { perm.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            permEpoch = epoch
        }
        return perm[cursor % rows]
    }

    /// Tensors for rows: ids, targets (-100 where no loss), positions restarting per document,
    /// and document ids (padding is its own document), on `device`. Also the number of loss tokens.
    func batch(_ rowIndices: [Int], device: Device = .cpu) throws -> (ids: Tensor, targets: Tensor, positions: Tensor, documents: Tensor, lossTokens: Int) {
        let n = data.manifest.seqLen
        var ids = [Int64](), targets = [Int64](), positions = [Int64](), docs = [Int64]()
        ids.reserveCapacity(rowIndices.count * n)
        var lossTokens = 0
        for r in rowIndices {
            let row = data.row(split, r)
            var t = [Int64](repeating: -100, count: n), p = [Int64](repeating: 0, count: n), d = [Int64](repeating: -1, count: n)
            for (k, doc) in row.documents.enumerated() {
                for j in doc.start..<(doc.start + doc.length) {
                    p[j] = Int64(j - doc.start)
                    d[j] = Int64(k)
                    // Predict the next token of the same document where that token carries loss.
                    if j + 1 < doc.start + doc.length, row.mask[j + 1] != 0 {
                        t[j] = Int64(row.ids[j + 1])
                        lossTokens += 1
                    }
                }
            }
            ids += row.ids.map(Int64.init)
            targets += t
            positions += p
            docs += d
        }
        let shape = [rowIndices.count, n]
        return (try Tensor(ids, shape: shape, device: device), try Tensor(targets, shape: shape, device: device),
                try Tensor(positions, shape: shape, device: device), try Tensor(docs, shape: shape, device: device), lossTokens)
    }
}
