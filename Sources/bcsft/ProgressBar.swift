import Foundation

/// A one-line progress bar with ETA on a terminal; plain periodic lines when stderr is not one.
final class ProgressBar {
    let label: String
    let total: Int
    let start = Date()
    let isTTY = isatty(STDERR_FILENO) != 0
    /// Work done before this process started (a resumed run): not part of the ETA's rate.
    let initial: Int
    var lastPrinted = -1

    init(label: String, total: Int, startingAt initial: Int = 0) {
        self.label = label
        self.total = max(total, 1)
        self.initial = initial
    }

    func update(_ done: Int, note: String = "") {
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > initial ? elapsed / Double(done - initial) * Double(total - done) : 0
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
