import Foundation

/// The run's display on stderr. On a terminal: one status line for the running stage (elapsed
/// time, a bar when the kind reports a fraction, its last note), redrawn in place each second
/// and on progress, with log lines and finished stages printed above it. Elsewhere (a log file,
/// CI): plain lines only, progress at most once per 10% or 30 seconds.
public final class ConsoleReporter: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private let write: @Sendable (String) -> Void
    private let isTTY: Bool
    private var running: (stage: String, started: Date)?
    private var fraction: Double?
    private var note = ""
    private var lastPlain = (decile: -1, at: Date.distantPast)
    private var timer: DispatchSourceTimer?

    /// `write` receives finished text (lines end in "\n"; status redraws start with "\r").
    public init(isTTY: Bool = isatty(STDERR_FILENO) != 0,
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTTY = isTTY
        self.write = write
    }

    deinit { timer?.cancel() }

    public func planned(_ plan: RunPlan) {
        let toRun = plan.stages.filter { $0.action == .run }.count
        emit("recipe \(plan.recipe): \(plan.stages.count) stage(s), \(toRun) to run; workdir \(plan.workdir.path)")
    }

    public func stageStarted(_ stage: String, resuming: Bool) {
        lock.withLock {
            running = (stage, Date())
            fraction = nil
            note = ""
            lastPlain = (-1, Date())
            if isTTY {
                startTimer()
                redraw()
            } else {
                write("▶ \(stage) started\(resuming ? " (resuming its .partial folder)" : "")\n")
            }
        }
    }

    public func stageProgress(_ stage: String, fraction: Double?, message: String) {
        lock.withLock {
            guard running?.stage == stage else { return }
            self.fraction = fraction
            note = message
            if isTTY { return redraw() }
            let decile = fraction.map { Int($0 * 10) } ?? lastPlain.decile
            if decile != lastPlain.decile || Date().timeIntervalSince(lastPlain.at) >= 30 {
                lastPlain = (decile, Date())
                write("  \(stage) \(statusText())\n")
            }
        }
    }

    public func stageLog(_ stage: String, _ line: String) {
        emit("  [\(stage)] \(line)")
    }

    public func stageFinished(_ record: StageRecord) {
        let d = record.durationSeconds.map(Durations.text) ?? ""
        let line: String = switch record.status {
        case .completed: "✓ \(record.name) done in \(d)\(record.resumed ? " (resumed)" : "")"
        case .cached: "✓ \(record.name) cached"
        case .failed: "✗ \(record.name) failed after \(d): \(record.error ?? "")"
        case .interrupted: "■ \(record.name) interrupted after \(d)"
        case .skipped: "· \(record.name) skipped: \(record.reason)"
        case .pending, .running: "\(record.name) \(record.status.rawValue)"
        }
        lock.withLock {
            if running?.stage == record.name {
                running = nil
                timer?.cancel()
                timer = nil
            }
        }
        emit(line)
    }

    /// Prints a line above the status line (and redraws that).
    private func emit(_ line: String) {
        lock.withLock {
            guard isTTY else { return write(line + "\n") }
            write("\r\u{1B}[K" + line + "\n")
            redraw()
        }
    }

    // Callers hold the lock.
    private func redraw() {
        guard let running else { return }
        write("\r\u{1B}[K▶ \(running.stage) \(statusText())")
    }

    private func statusText() -> String {
        let elapsed = Durations.clock(Date().timeIntervalSince(running?.started ?? Date()))
        var s = elapsed
        if let fraction {
            let width = 24, filled = Int(fraction * Double(width))
            s += "  " + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                + String(format: " %3.0f%%", fraction * 100)
        }
        if !note.isEmpty { s += "  " + note }
        return s
    }

    private func startTimer() {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.withLock { self.redraw() }
        }
        t.resume()
        timer = t
    }
}

/// Durations for people: 0.4s, 12.3s, 3m05s, 1h02m.
enum Durations {
    static func text(_ s: Double) -> String {
        if s < 60 { return String(format: "%.1fs", s) }
        if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
    }

    /// 0:07, 12:45, 1:02:03 for a running clock.
    static func clock(_ s: Double) -> String {
        let t = Int(s)
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t % 3600 / 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
