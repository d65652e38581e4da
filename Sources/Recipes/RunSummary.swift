import Foundation

extension RunRecord {
    /// The table printed at the end of a run: each stage's kind, status and time.
    public var summary: String {
        let rows = stages.map { s -> [String] in
            let time = s.durationSeconds.map(Durations.text) ?? "-"
            let note: String = switch s.status {
            case .failed: s.error.map { String($0.split(separator: "\n").first ?? "") } ?? ""
            case .completed: s.resumed ? "resumed; \(s.reason)" : s.reason
            case .cached: "took \(time) when it ran"
            default: s.reason
            }
            return [s.name, s.kind, s.status.rawValue, s.status == .cached ? "-" : time, note]
        }
        let header = ["stage", "kind", "status", "time", "note"]
        let widths = (0..<4).map { c in ([header] + rows).map { $0[c].count }.max()! }
        func line(_ r: [String]) -> String {
            (0..<4).map { r[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + r[4]
        }
        var out = ([header] + rows).map(line)
        let total = durationSeconds.map(Durations.text) ?? "-"
        out.append("\(status.rawValue) in \(total); record in \(workdir)/run.json")
        return out.joined(separator: "\n")
    }
}
