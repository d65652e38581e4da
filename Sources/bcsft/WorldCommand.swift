import ArgumentParser
import Common
import Foundation
import World

struct WorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "Write the SCRIPTED offline world's problems: seeded, disjoint train and test splits (problems JSONL).",
        discussion: "Families of procedural word problems whose sub-procedures recur (perimeter, area, cost, change, sharing, distance). The scripted backend answers them."
    )
    @Option(help: "Output folder: train.jsonl and test.jsonl.") var out: String
    @Option(help: help("Training problems.", default: WorldSettings().train)) var train: Int?
    @Option(help: help("Test problems.", default: WorldSettings().test)) var test: Int?
    @Option(help: help("The world's seed.", default: WorldSettings().seed)) var seed: UInt64?

    func settings() throws -> WorldSettings {
        var g = GivenSettings()
        g.set("train", train)
        g.set("test", test)
        g.set("seed", seed)
        return try g.decode(WorldSettings.self)
    }

    func run() throws {
        let (tr, te) = try settings().splits()
        let dir = URL(fileURLWithPath: out)
        try OutputFolder.check(dir, markers: ["train.jsonl", "test.jsonl"], what: "the world's problems")
        try JSONLines.write(tr, to: dir.appendingPathComponent("train.jsonl"))
        try JSONLines.write(te, to: dir.appendingPathComponent("test.jsonl"))
        print("wrote \(tr.count) train and \(te.count) test problems to \(dir.path)")
    }
}
