import Foundation

/// What a run will do, decided before anything runs: each stage in order, whether it runs or
/// is cached, and why. `bcsft run --dry-run` prints it.
public struct RunPlan: Sendable {
    public enum Action: String, Sendable {
        case run, cached
        /// Left alone: not selected by `--only`.
        case skip
    }

    public struct Stage: Sendable {
        public let name: String
        public let kind: String
        public let key: String
        public let action: Action
        /// "up to date", "no previous output", "settings changed: lr", "forced by --from data", ...
        public let reason: String
        /// A scratch folder from an earlier attempt with the same key is there to resume from.
        public let resuming: Bool
        /// The stage completed but was killed before its folder moved into place.
        let completeInScratch: Bool
        /// A scratch folder from an attempt with another key is there, and will be deleted.
        let discardScratch: Bool
    }

    public let recipe: String
    public let workdir: URL
    public let stages: [Stage]

    public func stage(_ name: String) -> Stage? { stages.first { $0.name == name } }

    /// The plan as text, one stage per line.
    public var description: String {
        let width = max(5, stages.map(\.name.count).max() ?? 0)
        let kindWidth = max(4, stages.map(\.kind.count).max() ?? 0)
        var lines = ["plan for \(recipe) (workdir \(workdir.path)):"]
        for s in stages {
            let action = switch s.action {
            case .run: "run"
            case .cached: "cached"
            case .skip: "skip"
            }
            lines.append("  " + s.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + s.kind.padding(toLength: kindWidth, withPad: " ", startingAt: 0) + "  "
                + action.padding(toLength: 6, withPad: " ", startingAt: 0) + "  " + s.reason)
        }
        let n = stages.filter { $0.action == .run }.count
        lines.append("\(n) of \(stages.count) stage(s) to run")
        return lines.joined(separator: "\n")
    }
}
