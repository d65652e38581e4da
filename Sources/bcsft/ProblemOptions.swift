import ArgumentParser
import Foundation
import Pipelines

/// The problems file and output of a pipeline command.
struct ProblemOptions: ParsableArguments {
    @Option(help: "Problems JSONL (id, problem, answer, optional subject and level).") var problems: String
    @Option(help: "Use only the first N problems (default: all).") var limit: Int?
    @Option(help: "Output JSONL (written atomically when the run ends).") var out: String

    var outURL: URL { URL(fileURLWithPath: out) }
    var problemsURL: URL { URL(fileURLWithPath: problems) }
    func fill(_ g: inout GivenSettings) { g.set("limit", limit) }
}
