import Foundation

/// A one-line progress bar with ETA on a terminal; plain periodic lines when stderr is not one.
final class ProgressBar {
    let label: String
    let total: Int
    let start = Date()
    let isTTY = isatty(STDERR_FILENO) != 0
    var lastPrinted = -1

    init(label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    func update(_ done: Int, note: String = "") {
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let frac = Double(done) / Double(total)
        let width = 30
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ %@ %d/%d  %@  eta %.0fs", label, bar, done, total, note, eta)
        if isTTY {
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
        } else if done == total || done * 10 / total != lastPrinted * 10 / total {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        lastPrinted = done
    }

    func finish() {
        if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
