import ArgumentParser
import Evaluation
import Foundation
import Pipelines
import World

struct WorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "Write the SCRIPTED offline world's problems: seeded, disjoint train and test splits (problems JSONL).",
        discussion: "Families of procedural word problems whose sub-procedures recur (perimeter, area, cost, change, sharing, distance). The scripted backend answers them."
    )
    @Option(help: "Output folder: train.jsonl and test.jsonl.") var out: String
    @Option var train = 1000
    @Option var test = 200
    @Option var seed: UInt64 = 0

    func run() throws {
        let (tr, te) = World(seed: seed).splits(train: train, test: test)
        guard tr.count == train, te.count == test else {
            throw ValidationError("the world has only \(tr.count + te.count) distinct problems for seed \(seed); ask for fewer")
        }
        let dir = URL(fileURLWithPath: out)
        try JSONLines.write(tr, to: dir.appendingPathComponent("train.jsonl"))
        try JSONLines.write(te, to: dir.appendingPathComponent("test.jsonl"))
        print("wrote \(tr.count) train and \(te.count) test problems to \(dir.path)")
    }
}
