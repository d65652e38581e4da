/// Receives a run's events as they happen (the console display; tests that record them). Calls
/// come from whichever thread the stage runs on, so implementations must be thread-safe.
public protocol RunObserver: Sendable {
    func planned(_ plan: RunPlan)
    func stageStarted(_ stage: String, resuming: Bool)
    func stageProgress(_ stage: String, fraction: Double?, message: String)
    func stageLog(_ stage: String, _ line: String)
    /// Every stage ends here, cached and skipped ones included.
    func stageFinished(_ record: StageRecord)
    func runFinished(_ record: RunRecord)
}

extension RunObserver {
    public func planned(_ plan: RunPlan) {}
    public func stageStarted(_ stage: String, resuming: Bool) {}
    public func stageProgress(_ stage: String, fraction: Double?, message: String) {}
    public func stageLog(_ stage: String, _ line: String) {}
    public func stageFinished(_ record: StageRecord) {}
    public func runFinished(_ record: RunRecord) {}
}

/// An observer that ignores everything.
public struct SilentObserver: RunObserver {
    public init() {}
}
