import Foundation
import Models
import Torch

/// A checkpoint's optimizer state in either of its layouts, read by what a resuming optimizer
/// needs, whichever layout wrote it:
///
/// - per parameter (`ReplicatedAdamW`): `optimizer.pt` with exp_avg/NAME, exp_avg_sq/NAME and
///   step/NAME; the exact weights are the HF float32 ones, or fp32_weights/ beside rounded ones;
/// - sharded (`ShardedAdamW`): `optimizer/layout.json` (each group's parameters and numels, the
///   number of shards, the step) and one `shard-RRRRR-of-WWWWW.pt` per shard, holding for each
///   group GROUP/exp_avg, GROUP/exp_avg_sq and GROUP/master (the shard's range of the group's flat
///   index space, in the master's dtype: float32, or bf16 for a pure bf16 run with zero 1).
///
/// So a run resumes a checkpoint of either optimizer on any number of ranks: each reads the
/// ranges it needs from whichever files hold them.
struct OptimizerCheckpoint {
    /// One parameter's state, for `ReplicatedAdamW`; `master` only from a sharded checkpoint.
    struct ParameterState {
        var step: Int
        var expAvg, expAvgSq: Tensor
        var master: Tensor?
    }

    /// A range of a group's flat index space, for `ShardedAdamW` (float32, on the CPU).
    struct FlatState {
        var step: Int
        var expAvg, expAvgSq, master: Tensor
    }

    /// What `optimizer/layout.json` records.
    struct Layout: Codable, Equatable {
        struct Group: Codable, Equatable {
            var name: String
            var parameters: [String]
            var numels: [Int]
            var total: Int { numels.reduce(0, +) }
        }
        var shards: Int
        /// Optimizer steps taken (every parameter steps together).
        var step: Int
        var groups: [Group]

        init(shards: Int, step: Int, groups: [ParameterGroup]) {
            self.shards = shards
            self.step = step
            self.groups = groups.map { Group(name: $0.name, parameters: $0.parameters.map(\.0), numels: $0.parameters.map(\.1.count)) }
        }
    }

    let dir: URL
    /// nil: the per-parameter layout.
    let layout: Layout?

    static func shardFile(_ index: Int, of shards: Int) -> String { String(format: "shard-%05d-of-%05d.pt", index, shards) }
    var optimizerFile: String { dir.appendingPathComponent(RunDirectory.optimizerFile).path }
    var shardFolder: URL { dir.appendingPathComponent(RunDirectory.shardedOptimizerFolder) }
    var layoutURL: URL { shardFolder.appendingPathComponent("layout.json") }

    init(_ dir: URL) throws {
        self.dir = dir
        let url = dir.appendingPathComponent(RunDirectory.shardedOptimizerFolder).appendingPathComponent("layout.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            layout = nil
            return
        }
        do { layout = try JSONDecoder().decode(Layout.self, from: Data(contentsOf: url)) } catch {
            throw TrainingError.badState(path: url.path, reason: "cannot be read: \(error.localizedDescription)")
        }
    }

    /// Whether the checkpoint keeps its exact weights as a sharded optimizer's master.
    static func hasMasterWeights(_ dir: URL) -> Bool {
        FileManager.default.fileExists(atPath: dir.appendingPathComponent(RunDirectory.shardedOptimizerFolder).appendingPathComponent("layout.json").path)
    }

    /// Writes the layout of a sharded state (rank 0, beside the shard files).
    static func writeLayout(_ layout: Layout, into folder: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(layout).write(to: folder.appendingPathComponent("layout.json"))
    }

    /// The range of a group's flat index space that shard `index` of `shards` owns: contiguous
    /// chunks of ceil(total / shards) elements, the last ones shorter or empty.
    static func range(total: Int, shards: Int, index: Int) -> Range<Int> {
        let length = shardLength(total: total, shards: shards)
        return min(total, index * length)..<min(total, (index + 1) * length)
    }

    static func shardLength(total: Int, shards: Int) -> Int { (total + shards - 1) / max(1, shards) }

    // MARK: - Reading

    /// Every parameter's state, for `ReplicatedAdamW`.
    func parameterStates(_ groups: [ParameterGroup]) throws -> [String: ParameterState] {
        guard layout != nil else {
            var byName: [String: Tensor] = [:]
            for (n, t) in try TensorFile.load(optimizerFile) { byName[n] = t }
            var out: [String: ParameterState] = [:]
            for (name, _) in groups.flatMap(\.parameters) {
                guard let m = byName["exp_avg/\(name)"], let v = byName["exp_avg_sq/\(name)"], let s = byName["step/\(name)"] else {
                    // Silently restarting a moment would change the run without a word.
                    throw TrainingError.badState(path: optimizerFile, reason: "no AdamW state for \(name)")
                }
                out[name] = ParameterState(step: Int(try s.item()), expAvg: m, expAvgSq: v)
            }
            return out
        }
        let flats = try ranges(groups.map { ($0, 0..<$0.parameters.reduce(0) { $0 + $1.1.count }) })
        var out: [String: ParameterState] = [:]
        for g in groups {
            guard let f = flats[g.name] else { continue }
            var offset = 0
            for (name, w) in g.parameters {
                func part(_ t: Tensor) throws -> Tensor { try t.narrow(0, start: offset, length: w.count).view(w.shape) }
                out[name] = ParameterState(step: f.step, expAvg: try part(f.expAvg), expAvgSq: try part(f.expAvgSq), master: try part(f.master))
                offset += w.count
            }
        }
        return out
    }

    /// Each group's state over the requested range of its flat index space, for `ShardedAdamW`.
    func ranges(_ requests: [(ParameterGroup, Range<Int>)]) throws -> [String: FlatState] {
        guard let layout else { return try rangesFromParameters(requests) }
        let expected = Layout(shards: layout.shards, step: layout.step, groups: requests.map(\.0))
        guard expected.groups == layout.groups else {
            func describe(_ l: Layout) -> String { l.groups.map { "\($0.name): \($0.parameters.count) tensors, \($0.total) elements" }.joined(separator: "; ") }
            throw TrainingError.badState(path: layoutURL.path, reason: "the checkpoint's optimizer state covers other parameters (\(describe(layout))) "
                + "than this run trains (\(describe(expected))); resume with the model and lora settings it was trained with")
        }
        var out: [String: FlatState] = [:]
        for (g, r) in requests {
            out[g.name] = FlatState(step: layout.step, expAvg: try Tensor.zeros([r.count]), expAvgSq: try Tensor.zeros([r.count]),
                                    master: try Tensor.zeros([r.count]))
        }
        // Each file once: it holds one shard of every group.
        for index in 0..<layout.shards {
            let wanted = requests.compactMap { (g, r) -> (String, Range<Int>, Range<Int>, Int)? in
                let held = Self.range(total: layout.groups.first { $0.name == g.name }!.total, shards: layout.shards, index: index)
                let (lo, hi) = (max(r.lowerBound, held.lowerBound), min(r.upperBound, held.upperBound))
                return lo < hi ? (g.name, held, lo..<hi, lo - r.lowerBound) : nil
            }
            guard !wanted.isEmpty else { continue }
            let path = shardFolder.appendingPathComponent(Self.shardFile(index, of: layout.shards)).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainingError.badState(path: path, reason: "missing: the checkpoint's optimizer state is in \(layout.shards) shard files and this one is gone")
            }
            var byName: [String: Tensor] = [:]
            for (n, t) in try TensorFile.load(path) { byName[n] = t }
            for (group, held, overlap, start) in wanted {
                let state = out[group]!
                for (key, into) in [("exp_avg", state.expAvg), ("exp_avg_sq", state.expAvgSq), ("master", state.master)] {
                    guard let t = byName["\(group)/\(key)"] else { throw TrainingError.badState(path: path, reason: "no \(group)/\(key)") }
                    guard t.count == held.count else {
                        throw TrainingError.badState(path: path, reason: "\(group)/\(key) holds \(t.count) elements, its shard \(held.count)")
                    }
                    try into.narrow(0, start: start, length: overlap.count)
                        .copy_(t.narrow(0, start: overlap.lowerBound - held.lowerBound, length: overlap.count))
                }
            }
        }
        return out
    }

    /// Ranges from a per-parameter checkpoint: its moments concatenated in the group's order, and
    /// its exact weights as the master.
    private func rangesFromParameters(_ requests: [(ParameterGroup, Range<Int>)]) throws -> [String: FlatState] {
        let states = try parameterStates(requests.map(\.0))
        let weights = try exactWeights()
        var out: [String: FlatState] = [:]
        for (g, r) in requests {
            func flat(_ part: (String) throws -> Tensor) throws -> Tensor {
                let parts = try g.parameters.map { try part($0.0).to(.float32).reshape([-1]) }
                let all = parts.isEmpty ? try Tensor.zeros([0]) : try Tensor.cat(parts)
                return try all.narrow(0, start: r.lowerBound, length: r.count)
            }
            let master = try flat { name in
                guard let w = weights[name] else { throw TrainingError.badState(path: dir.path, reason: "no weight \(name)") }
                return w
            }
            out[g.name] = FlatState(step: g.parameters.first.flatMap { states[$0.0]?.step } ?? 0,
                                    expAvg: try flat { states[$0]!.expAvg }, expAvgSq: try flat { states[$0]!.expAvgSq }, master: master)
        }
        return out
    }

    /// The float32 weights training left: fp32_weights/ beside rounded HF weights, else the HF
    /// weights, which are then float32 (`Trainer.resumableModel` refused the other case).
    func exactWeights() throws -> [String: Tensor] {
        let exact = dir.appendingPathComponent(RunDirectory.exactWeightsFolder)
        if FileManager.default.fileExists(atPath: exact.path) { return try SafeTensors.loadFolder(exact) }
        return try SafeTensors.loadFolder(dir)
    }
}
