import ArgumentParser
import Foundation
import Pipelines

/// Which problems of the file a command works on (the keys of `ProblemSelection`).
struct SelectionOptions: ParsableArguments {
    @Option(help: "Use only the first N problems, in file order (default: all).") var limit: Int?
    @Option(help: "Draw N problems at random instead (stratified, see --stratify).") var sample: Int?
    @Option(name: .customLong("sample-seed"), help: help("Seed of the --sample draw.", default: ProblemSelection().sampleSeed))
    var sampleSeed: UInt64?
    @Option(help: help("What a --sample keeps proportional: subject, level or none.", default: ProblemSelection().stratify))
    var stratify: String?

    func fill(_ g: inout GivenSettings) {
        g.set("limit", limit)
        g.set("sample", sample)
        g.set("sample_seed", sampleSeed)
        g.set("stratify", stratify)
    }
}

/// The problems file, its selection and the output of a pipeline command.
struct ProblemOptions: ParsableArguments {
    @Option(help: "Problems JSONL (id, problem, answer, optional subject and level).") var problems: String
    @OptionGroup var selection: SelectionOptions
    @Option(help: "Output JSONL (written atomically when the run ends).") var out: String

    var outURL: URL { URL(fileURLWithPath: out) }
    var problemsURL: URL { URL(fileURLWithPath: problems) }
    func fill(_ g: inout GivenSettings) { selection.fill(&g) }
}
